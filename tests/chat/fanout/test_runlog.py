"""The hub's run logs: an ended run's log stays readable for a while, then is forgotten."""

from __future__ import annotations

import pytest

from chat.fanout import runlog
from chat.fanout.runlog import Hub


def test_ended_logs_are_forgotten_after_their_time_and_running_ones_never(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(runlog.time, "monotonic", lambda: now[0])
    hub = Hub()
    first, second, running = hub.open_log(1, 10), hub.open_log(2, 20), hub.open_log(3, 30)
    hub.close_log(first)
    now[0] += 100
    hub.close_log(second)
    hub.close_log(second)  # closing twice changes nothing

    now[0] += runlog.ENDED_LOG_TTL_SECONDS - 50  # the first has expired, the second not yet
    hub.open_log(4, 40)
    assert (hub.log(1), hub.log(2), hub.log(3)) == (None, second, running)

    now[0] += 60
    hub.open_log(5, 50)
    assert (hub.log(2), hub.log(3), hub.active_log(30)) == (None, running, running)
    assert sorted(hub.logs) == [3, 4, 5]


def test_a_reopened_run_keeps_its_new_log(monkeypatch: pytest.MonkeyPatch) -> None:
    # A run's log opened again (a mirror of a run watched again) is not the one that expired.
    now = [1000.0]
    monkeypatch.setattr(runlog.time, "monotonic", lambda: now[0])
    hub = Hub()
    hub.close_log(hub.open_log(1, 10))
    again = hub.open_log(1, 10)
    now[0] += runlog.ENDED_LOG_TTL_SECONDS + 1
    hub.open_log(2, 20)
    assert hub.log(1) is again
