"""The chat page preloads every module app.js imports, directly or not: with one missing, the
browser finds it only after parsing its importer (one round trip per level of imports)."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
IMPORT = re.compile(r'^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"', re.MULTILINE)
PRELOAD = re.compile(r"""<link rel="modulepreload" href="\{% static '([^']+)' %\}">""")


def import_graph(entry: str) -> set[str]:
    """Every static file reached from `entry` by static imports, by name under static/."""
    seen: set[str] = set()
    pending = [entry]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        text = (STATIC / name).read_text(encoding="utf-8")
        folder = posixpath.dirname(name)
        pending += [
            posixpath.normpath(posixpath.join(folder, spec)) for spec in IMPORT.findall(text)
        ]
    return seen - {entry}


def preloaded() -> list[str]:
    page = (ROOT / "templates/chat/app.html").read_text(encoding="utf-8")
    assert '{% include "chat/modulepreload.html" %}' in page
    return PRELOAD.findall((ROOT / "templates/chat/modulepreload.html").read_text(encoding="utf-8"))


def test_the_graph_is_found() -> None:
    graph = import_graph("chat/app.js")
    assert {"chat/thread.js", "chat/render.js", "chat/copy.js"} <= graph
    assert "vendor/marked/marked.esm.min.js" in import_graph("chat/markdown.js")


def test_the_renderer_and_highlighter_are_neither_imported_at_start_nor_preloaded() -> None:
    """They are most of the page's JavaScript and the composer needs neither: render.js
    imports them when a reply or a code block first needs them."""
    late = {
        "chat/markdown.js",
        "vendor/marked/marked.esm.min.js",
        "vendor/dompurify/purify.es.min.js",
        "vendor/highlight.js/es/highlight.min.js",
    }
    assert late.isdisjoint(import_graph("chat/app.js"))
    assert late.isdisjoint(preloaded())
    render = (STATIC / "chat/render.js").read_text(encoding="utf-8")
    assert 'import("./markdown.js")' in render
    assert 'import("../vendor/highlight.js/es/highlight.min.js")' in render


def test_every_imported_module_is_preloaded_once_and_nothing_else() -> None:
    listed = preloaded()
    assert len(listed) == len(set(listed))
    assert set(listed) == import_graph("chat/app.js")
