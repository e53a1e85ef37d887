"""The house rule of at most 400 lines a file, for the front end (its own scripts, styles and
templates; the vendored libraries are others' files)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 400


def front_end_files() -> list[Path]:
    static = [p for p in (ROOT / "static").rglob("*") if "vendor" not in p.parts]
    files = static + list((ROOT / "templates").rglob("*"))
    return [p for p in files if p.suffix in {".js", ".css", ".html"}]


def test_there_are_front_end_files_to_check() -> None:
    names = {p.name for p in front_end_files()}
    assert {"app.js", "thread.js", "base.html"} <= names


def test_no_front_end_file_is_over_400_lines() -> None:
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in front_end_files()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert too_long == {}
