"""The static files storage: Django's plain one (no hashed names, see deploy/nginx.conf), whose
`collectstatic` also writes the precompressed variants (config.static_compression)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.storage import StaticFilesStorage

from config.static_compression import compress_file


class CompressedStaticFilesStorage(StaticFilesStorage):
    def post_process(
        self, paths: dict[str, Any], dry_run: bool = False, **options: Any
    ) -> Iterator[tuple[str, str, bool]]:
        if dry_run:
            return
        for name in paths:
            written = compress_file(Path(self.path(name)))
            yield name, name, bool(written)
