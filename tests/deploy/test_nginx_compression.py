"""nginx sends the precompressed static files collectstatic wrote: brotli when the browser
takes it, else gzip, else the file itself, always with the file's own type."""

from __future__ import annotations

import gzip

import brotli
import httpx
import pytest

from tests.deploy.test_nginx import Stack, stack  # noqa: F401 (the fixture)

APP_JS = "chat/app.js"


def fetch(stack: Stack, name: str, accept: str) -> tuple[httpx.Response, bytes]:  # noqa: F811
    """The response and its body as sent (httpx would decode it otherwise)."""
    url = f"{stack.base_url}/static/{name}"
    with httpx.stream("GET", url, headers={"Accept-Encoding": accept}) as response:
        return response, b"".join(response.iter_raw())


@pytest.mark.parametrize("name,kind", [(APP_JS, "text/javascript"), ("chat/base.css", "text/css")])
def test_brotli_then_gzip_then_plain(stack: Stack, name: str, kind: str) -> None:  # noqa: F811
    original = (stack.static_root / name).read_bytes()
    br, br_body = fetch(stack, name, "gzip, deflate, br, zstd")
    assert br.headers["content-encoding"] == "br"
    assert br.headers["content-type"].startswith(kind)
    assert "Accept-Encoding" in br.headers["vary"]
    assert brotli.decompress(br_body) == original
    gz, gz_body = fetch(stack, name, "gzip, deflate")
    assert gz.headers["content-encoding"] == "gzip"
    assert gz.headers["content-type"].startswith(kind)
    assert gzip.decompress(gz_body) == original
    plain, plain_body = fetch(stack, name, "identity")
    assert "content-encoding" not in plain.headers
    assert plain_body == original


def test_a_file_without_variants_is_sent_plain(stack: Stack) -> None:  # noqa: F811
    name = "chat/favicon.svg"  # under the size worth compressing
    response, body = fetch(stack, name, "br, gzip")
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert body == (stack.static_root / name).read_bytes()


def test_a_missing_file_is_404_with_br_accepted(stack: Stack) -> None:  # noqa: F811
    assert fetch(stack, "chat/nothing-here.js", "br")[0].status_code == 404
