"""A stand-in for Open-Meteo's geocoding and forecast APIs on a loopback port.

The weather service is the one thing these tests replace: the app's `get_weather`
(`chat/tools/weather.py`) calls it over real HTTP, as it calls Open-Meteo. Any place name is
found (the model chooses the name), in France, with the same current weather; every request
is recorded so a test can check what the tool asked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

COUNTRY = "France"
CURRENT = {"temperature_2m": 18.5, "weather_code": 2, "wind_speed_10m": 11.2}
CONDITIONS = "partly cloudy"  # what chat/tools/weather.py calls weather code 2


@dataclass
class FakeWeather:
    url: str
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)

    @property
    def geocoding_url(self) -> str:
        return f"{self.url}/v1/search"

    @property
    def forecast_url(self) -> str:
        return f"{self.url}/v1/forecast"


def expected_output(name: str, unit: str) -> dict[str, Any]:
    """What `get_weather` returns for a place this server found under `name`."""
    return {
        "location": f"{name}, {COUNTRY}",
        "temperature": CURRENT["temperature_2m"],
        "unit": unit,
        "conditions": CONDITIONS,
        "wind_speed_kmh": CURRENT["wind_speed_10m"],
    }


def _handler(api: FakeWeather) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            url = urlparse(self.path)
            query = parse_qs(url.query)
            api.requests.append((url.path, query))
            if url.path == "/v1/search":
                place = {
                    "name": query["name"][0],
                    "country": COUNTRY,
                    "latitude": 48.85341,
                    "longitude": 2.3488,
                }
                self._json(200, {"results": [place], "generationtime_ms": 0.5})
            elif url.path == "/v1/forecast":
                self._json(200, {"latitude": 48.85341, "current": CURRENT})
            else:
                self._json(404, {"error": True, "reason": "Not Found"})

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the tests read `requests`

    return Handler


@contextmanager
def fake_weather() -> Iterator[FakeWeather]:
    api = FakeWeather("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
