"""`python -m assistants_proxy`, run as a user would: a subprocess, its output and exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SEED_TEXT = "Hello! How can I assist you today?"


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "assistants_proxy", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


def assert_bad_input(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0]


# -- replay ----------------------------------------------------------------------------------


def test_replaying_the_seed_ends_with_its_summary() -> None:
    result = cli("replay", "tests/fixtures/seed-capture.txt")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert json.loads(lines[-1]) == {
        "events": 21,
        "run_status": "completed",
        "messages": [SEED_TEXT],
        "usage": {"prompt_tokens": 1138, "completion_tokens": 11, "total_tokens": 1149},
    }
    assert len(lines) == 22  # one line per event, then the summary
    assert lines[0] == "thread.created thread_sSbvUX4J1FqlUZBv6BaBbOj4"
    assert lines[8] == 'thread.message.delta "Hello"'
    assert lines[20] == "done"


def test_replaying_a_standard_recording() -> None:
    result = cli("replay", str(FIXTURES / "openai-recorded" / "assistants-file-search.sse"))

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["events"] == 24
    assert summary["messages"] == ["Filip's favorite food is cake【4:0†favorite_foods.txt】."]
    assert summary["usage"]["total_tokens"] == 2068


def test_replaying_a_missing_file_is_one_line_and_status_2(tmp_path: Path) -> None:
    assert_bad_input(cli("replay", str(tmp_path / "nowhere.txt")), "nowhere.txt", "no such file")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"Dear diary,\nnothing streamed today.\n", ["no server-sent events"]),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", ["not a text file"]),
        (b"event: thread.message.delta\ndata: {broken\n\n", ["not JSON"]),
        (b'event: a data: {"unterminated": ', ["bad JSON"]),
    ],
    ids=["prose", "binary", "bad-json", "bad-flattened"],
)
def test_replaying_a_file_that_is_not_a_stream_is_one_line_and_status_2(
    tmp_path: Path, content: bytes, words: list[str]
) -> None:
    path = tmp_path / "capture.txt"
    path.write_bytes(content)

    assert_bad_input(cli("replay", str(path)), *words)


def test_a_directory_is_not_a_capture(tmp_path: Path) -> None:
    assert_bad_input(cli("replay", str(tmp_path)), "no such file")


# -- stream ----------------------------------------------------------------------------------


def test_streaming_a_greeting_prints_the_reply_then_the_summary(simulator_url: str) -> None:
    result = cli("stream", "--base-url", simulator_url, "Hello")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == SEED_TEXT
    summary = json.loads(lines[-1])
    assert summary["run_status"] == "completed"
    assert summary["messages"] == [SEED_TEXT]
    assert summary["events"] == 21
    assert summary["usage"]["completion_tokens"] == 9


def test_streaming_a_bad_request_is_one_line_and_status_2(simulator_url: str) -> None:
    result = cli("stream", "--base-url", simulator_url, "/sim stmap Hello")

    assert_bad_input(result, "400", "stmap")


def test_streaming_to_a_refused_connection_is_one_line_and_status_2() -> None:
    result = cli("stream", "--base-url", f"http://127.0.0.1:{free_port()}/v1", "Hello")

    assert_bad_input(result, "unreachable")


def test_a_command_is_required() -> None:
    result = cli()

    assert result.returncode == 2
    assert "replay" in result.stderr and "stream" in result.stderr
