"""Precompressed static files: a `.gz` and a `.br` beside each collected text file, written once
at `collectstatic` (config.static_storage) so that neither nginx nor the app compresses on
every request. nginx serves them (deploy/nginx.conf.template), and so does the app itself when
it serves static files (config.precompressed)."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli

# Text formats only: images and fonts are compressed already.
COMPRESSIBLE = frozenset({".js", ".mjs", ".css", ".svg", ".html", ".json", ".txt", ".map"})
# Below this a compressed body saves less than its headers cost.
MIN_BYTES = 512
# (suffix, Content-Encoding token), in the order of preference when a browser takes both.
ENCODINGS = ((".br", "br"), (".gz", "gzip"))


def compress_file(path: Path) -> list[Path]:
    """Write `path`.br and `path`.gz when worth it; returns the files written. A variant no
    smaller than the original is removed, so a stale one is never served."""
    if path.suffix not in COMPRESSIBLE or path.stat().st_size < MIN_BYTES:
        return []
    if _fresh(path):
        return []  # collectstatic runs with every `make run`: the unchanged are not redone
    data = path.read_bytes()
    # mtime=0: the same input gives the same bytes, so builds are reproducible.
    variants = {".br": brotli.compress(data, quality=11), ".gz": gzip.compress(data, 9, mtime=0)}
    written = []
    for suffix, body in variants.items():
        target = path.with_name(path.name + suffix)
        if len(body) < len(data):
            target.write_bytes(body)
            written.append(target)
        else:
            target.unlink(missing_ok=True)
    return written


def _fresh(path: Path) -> bool:
    made = [path.with_name(path.name + suffix) for suffix, _ in ENCODINGS]
    source_time = path.stat().st_mtime
    return all(p.exists() and p.stat().st_mtime >= source_time for p in made)
