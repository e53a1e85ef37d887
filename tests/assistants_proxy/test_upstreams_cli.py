"""`python -m assistants_proxy stream --protocol ...` on every protocol the simulator speaks."""

from __future__ import annotations

import json

import pytest
from upstreams_client import ALL_PROTOCOLS, SEED_TEXT

from assistants_proxy.cli import main


@pytest.mark.parametrize("protocol", ALL_PROTOCOLS)
def test_stream_prints_the_reply_then_the_summary(
    protocol: str, simulator_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["stream", "--protocol", protocol, "--base-url", simulator_url, "Hello"])

    lines = capsys.readouterr().out.splitlines()
    summary = json.loads(lines[-1])
    assert status == 0 and lines[0] == SEED_TEXT
    assert summary["run_status"] == "completed" and summary["messages"] == [SEED_TEXT]
    assert summary["usage"]["completion_tokens"] == 9


@pytest.mark.parametrize("protocol", ALL_PROTOCOLS)
def test_a_tool_call_ends_the_command_at_requires_action(
    protocol: str, simulator_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["stream", "--protocol", protocol, "--base-url", simulator_url, "Weather?"])

    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert status == 0 and summary["run_status"] == "requires_action"
