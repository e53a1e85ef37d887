"""Precompressed static files: collectstatic writes a .br and a .gz beside each text file, and
the app, when it serves static files itself (`make run`), sends the variant the browser takes."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.management import call_command
from django.test import override_settings

from config.precompressed import PrecompressedStatic

REPO = Path(__file__).resolve().parent.parent
APP_JS = "chat/app.js"


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root):
        call_command("collectstatic", "--noinput", verbosity=0)
        yield root


def test_collectstatic_writes_brotli_and_gzip_of_the_same_bytes(static_root: Path) -> None:
    original = (REPO / "static" / APP_JS).read_bytes()
    assert brotli.decompress((static_root / f"{APP_JS}.br").read_bytes()) == original
    assert gzip.decompress((static_root / f"{APP_JS}.gz").read_bytes()) == original
    vendored = static_root / "vendor/marked/marked.esm.min.js.br"
    assert (
        vendored.stat().st_size < (static_root / "vendor/marked/marked.esm.min.js").stat().st_size
    )


def test_no_variant_for_images_or_tiny_files(static_root: Path) -> None:
    assert (static_root / "chat/favicon.svg").stat().st_size < 512
    assert not (static_root / "chat/favicon.svg.br").exists()
    assert not (static_root / "chat/favicon.svg.gz").exists()
    assert list(static_root.rglob("*.png.br")) == []
    call_command("collectstatic", "--noinput", verbosity=0)  # again: variants are not compressed
    assert list(static_root.rglob("*.br.br")) == list(static_root.rglob("*.gz.br")) == []


class Inner:
    """Stands for Django's static handler: says it was reached."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"inner"})


async def get(static_root: Path, path: str, accept: str) -> tuple[int, dict[str, str], bytes]:
    with override_settings(STATIC_ROOT=static_root):
        app = PrecompressedStatic(Inner())
    scope = {
        "type": "http", "method": "GET", "path": path,
        "headers": [(b"accept-encoding", accept.encode())] if accept else [],
    }  # fmt: skip
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output()
    body = await communicator.receive_output()
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, body["body"]


async def test_the_app_sends_brotli_then_gzip_as_accepted(static_root: Path) -> None:
    original = (REPO / "static" / APP_JS).read_bytes()
    status, headers, body = await get(static_root, f"/static/{APP_JS}", "gzip, deflate, br")
    assert (status, headers["content-encoding"]) == (200, "br")
    assert headers["content-type"] == "text/javascript" and headers["vary"] == "Accept-Encoding"
    assert brotli.decompress(body) == original
    status, headers, body = await get(static_root, f"/static/{APP_JS}", "gzip, br;q=0")
    assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == original


@pytest.mark.parametrize(
    "path,accept",
    [
        (f"/static/{APP_JS}", ""),  # takes no compression
        (f"/static/{APP_JS}", "identity"),
        ("/static/chat/nothing-here.js", "br"),
        ("/static/../config/settings.py", "br"),
        ("/api/threads/", "br"),
    ],
)
async def test_everything_else_goes_to_djangos_handler(
    static_root: Path, path: str, accept: str
) -> None:
    status, _, body = await get(static_root, path, accept)
    assert (status, body) == (299, b"inner")


async def test_a_variant_older_than_the_file_is_not_sent(static_root: Path) -> None:
    variant = static_root / f"{APP_JS}.br"
    source_time = (REPO / "static" / APP_JS).stat().st_mtime
    os.utime(variant, (source_time - 10, source_time - 10))  # the file was edited since
    try:
        status, _, _ = await get(static_root, f"/static/{APP_JS}", "br")
        assert status == 299
    finally:
        os.utime(variant, None)
