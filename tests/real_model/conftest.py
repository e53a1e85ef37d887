"""`real_model`: a real model server as an upstream, shared by the session.

It is llama.cpp's OpenAI-compatible server (llama-cpp-python) with SmolLM2-135M-Instruct,
started by ``scripts/local-model.sh serve`` on a free loopback port. Building it takes ~7
minutes, so it is cached outside the repository by ``scripts/local-model.sh install``
(``make test-real`` runs it). Without that install these tests skip, saying so, unless
REQUIRE_SERVICES=1 says a skip would hide a missing service: then they fail.

The server speaks Chat Completions only (``/v1/responses`` answers 404), generates one request
at a time (others queue), and sends no usage in a stream.

`chat_app` is the app itself in front of it, as deployed (daphne, a fresh SQLite file,
`tests/e2e/appserver.py`), shared by the session: the users and assistants of `suite.py`, and
the weather tool pointed at a fake Open-Meteo (`fakeweather.py`), the only thing replaced.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.appserver import RunningApp, running_app
from tests.real_model import suite
from tests.real_model.fakeweather import FakeWeather, fake_weather
from tests.real_model.modelserver import RealModel

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "local-model.sh"
STARTUP_TIMEOUT = 60.0  # loading the 100 MB model takes a few seconds on a busy machine
STOP_TIMEOUT = 10.0


def _missing(reason: str) -> None:
    # On CI (REQUIRE_SERVICES=1) a missing dependency is a failure, never a silent skip.
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def _require_installed() -> None:
    # `model-path` fails, saying why, unless an install completed (the script's marker).
    found = subprocess.run(
        ["bash", str(SCRIPT), "model-path"], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        why = found.stderr.strip() or f"exit status {found.returncode}"
        _missing(f"the local model server is not installed: {why} (or `make test-real`)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait_ready(process: subprocess.Popen[bytes], base_url: str, log: Path) -> list[str]:
    """The model names, once /v1/models answers; fails with the log when it never does."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the model server exited ({process.returncode}):\n{_tail(log)}")
        try:
            response = httpx.get(f"{base_url}/models", timeout=2.0)
            if response.status_code == 200:
                return [model["id"] for model in response.json()["data"]]
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    pytest.fail(f"the model server did not answer within {STARTUP_TIMEOUT:.0f} s:\n{_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    # The script execs the server, so this is the server's own process.
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealModel]:
    _require_installed()
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    log = tmp_path_factory.mktemp("real-model") / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["bash", str(SCRIPT), "serve", str(port)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        models = _wait_ready(process, base_url, log)
        yield RealModel(base_url=base_url, models=models, log=log)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def weather_api() -> Iterator[FakeWeather]:
    with fake_weather() as api:
        yield api


@pytest.fixture(scope="session")
def chat_app(
    real_model: RealModel, weather_api: FakeWeather, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApp]:
    env = {
        "WEATHER_GEOCODING_URL": weather_api.geocoding_url,
        "WEATHER_FORECAST_URL": weather_api.forecast_url,
        # The figures start more runs a minute than one user may (RUNS_PER_MINUTE, 20).
        "RUNS_PER_MINUTE": "1000",
    }
    setup = [suite.setup_code(real_model.base_url, real_model.model)]
    with running_app(tmp_path_factory.mktemp("real-model-app"), env=env, setup=setup) as app:
        yield app
