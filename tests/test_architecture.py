"""Dependencies point down: `assistants_proxy` is a plain library that knows no Django app."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "assistants_proxy"
FORBIDDEN = ("django", "chat", "channels", "config")
MODULES = sorted(LIBRARY.rglob("*.py"))


def imported_names(path: Path) -> set[str]:
    """Every module named by an import statement in `path`, at any depth (functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            names.add(node.args[0].value)  # type: ignore[attr-defined]
    return names


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return (
        name in ("import_module", "__import__")
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def is_forbidden(module: str) -> bool:
    return module.split(".")[0] in FORBIDDEN


def test_the_library_has_modules_to_check() -> None:
    names = {p.relative_to(LIBRARY).as_posix() for p in MODULES}
    assert {"sse.py", "events.py", "accumulator.py", "client.py", "cli.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(LIBRARY).as_posix())
def test_no_module_of_the_library_imports_django_or_the_app(path: Path) -> None:
    assert [m for m in imported_names(path) if is_forbidden(m)] == []


def test_the_import_walk_catches_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text(
        "import os\n"
        "def later():\n"
        "    from django.conf import settings\n"
        "    import chat.models\n"
        "    importlib.import_module('channels.layers')\n"
    )

    found = sorted(m for m in imported_names(module) if is_forbidden(m))

    assert found == ["channels.layers", "chat.models", "django.conf"]


def test_importing_every_module_loads_no_django(tmp_path: Path) -> None:
    names = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in MODULES
        if p.name != "__main__.py"
    )
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        f"    if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "assistants_proxy.sse" in names and "assistants_proxy.simulator" in names
    assert json.loads(result.stdout.splitlines()[-1]) == []
