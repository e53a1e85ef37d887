"""When the app serves static files itself (`make run`, SERVE_STATIC): a file's precompressed
variant, as nginx serves it in production (deploy/nginx.conf.template). collectstatic writes the
variants into STATIC_ROOT (config.static_storage); `make run` runs it first. A variant older
than the file the finders would serve (a file edited since) is ignored, and then Django's own
static handler, wrapped here, serves the plain file as before."""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.utils.http import http_date, parse_http_date_safe

from config.static_compression import ENCODINGS

Scope = dict[str, Any]


class PrecompressedStatic:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.prefix = settings.STATIC_URL
        self.root = Path(settings.STATIC_ROOT).resolve()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        found = await asyncio.to_thread(self.variant, scope) if self.handles(scope) else None
        if found is None:
            return await self.app(scope, receive, send)
        for message in await asyncio.to_thread(response, scope, *found):
            await send(message)

    def handles(self, scope: Scope) -> bool:
        return (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and scope["path"].startswith(self.prefix)
        )

    def variant(self, scope: Scope) -> tuple[str, Path, str] | None:
        """(the file's name, its best precompressed variant, that encoding), or None."""
        name = scope["path"][len(self.prefix) :]
        try:
            source = finders.find(name) if name else None
        except SuspiciousFileOperation:  # "../" out of the static folders: Django's 404
            return None
        if not isinstance(source, str):
            return None
        accepted = accepted_encodings(header(scope, b"accept-encoding"))
        for suffix, encoding in ENCODINGS:
            candidate = (self.root / (name + suffix)).resolve()
            if encoding not in accepted or not candidate.is_relative_to(self.root):
                continue
            if candidate.is_file() and candidate.stat().st_mtime >= Path(source).stat().st_mtime:
                return name, candidate, encoding
        return None


def accepted_encodings(value: str) -> set[str]:
    """The codings an Accept-Encoding header takes (a `q=0` one is refused, RFC 9110)."""
    accepted = set()
    for item in value.split(","):
        token, _, params = item.strip().partition(";")
        if params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            accepted.add(token.strip().lower())
    return accepted


def header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def response(scope: Scope, name: str, path: Path, encoding: str) -> tuple[dict, dict]:
    """The ASGI response start and body messages (blocking file reads: run in a thread)."""
    modified = int(path.stat().st_mtime)
    since = parse_http_date_safe(header(scope, b"if-modified-since"))
    # A warm cache revalidates (Django's static view does the same for plain files).
    unchanged = since is not None and since >= modified
    body = b"" if unchanged or scope["method"] == "HEAD" else path.read_bytes()
    headers = [
        (b"content-type", (mimetypes.guess_type(name)[0] or "application/octet-stream").encode()),
        (b"content-encoding", encoding.encode()),
        (b"vary", b"Accept-Encoding"),
        (b"last-modified", http_date(modified).encode()),
    ]
    if not unchanged:
        headers.append((b"content-length", str(path.stat().st_size).encode()))
    start = {"type": "http.response.start", "status": 304 if unchanged else 200, "headers": headers}
    return start, {"type": "http.response.body", "body": body}
