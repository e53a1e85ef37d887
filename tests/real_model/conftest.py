"""`real_model`: a real model server as an upstream, shared by the session.

It is llama.cpp's OpenAI-compatible server (llama-cpp-python) with SmolLM2-135M-Instruct,
started by ``scripts/local-model.sh serve`` on a free loopback port. Building it takes ~7
minutes, so it is cached outside the repository by ``scripts/local-model.sh install``
(``make test-real`` runs it). Without that install these tests skip, saying so, unless
REQUIRE_SERVICES=1 says a skip would hide a missing service: then they fail.

The server speaks Chat Completions only (``/v1/responses`` answers 404), generates one request
at a time (others queue), and sends no usage in a stream.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "local-model.sh"
STARTUP_TIMEOUT = 60.0  # loading the 100 MB model takes a few seconds on a busy machine
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class RealModel:
    base_url: str  # ending in /v1, as make_upstream and the openai SDK want it
    models: list[str]  # what /v1/models lists (any name is answered by the one model)
    log: Path  # the server's output, with llama.cpp's timings for each request

    @property
    def model(self) -> str:
        return self.models[0]

    async def clear_prompt_cache(self, http: httpx.AsyncClient) -> None:
        """Make the next request evaluate its whole prompt afresh.

        The server keeps the last request's tokens and evaluates only what follows their
        common prefix; the logits then differ slightly from a full evaluation, enough to
        change a greedy (temperature 0) reply. A plain completion whose prompt shares no first
        token with a chat prompt (those start with <|im_start|>) replaces that prefix, so two
        requests each made after this one generate the same text.
        """
        body = {"prompt": "Reset.", "max_tokens": 1, "temperature": 0}
        response = await http.post(f"{self.base_url}/completions", json=body)
        response.raise_for_status()


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
