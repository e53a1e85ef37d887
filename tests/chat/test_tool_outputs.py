"""Tool outputs recorded in the run's row (`chat.runs.tool_outputs`): checked against the
stored `required_action`, taken by one conditional UPDATE, read and cleared by the waiting
run."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from chat.errors import Conflict, InvalidInput
from chat.models import Run
from chat.runs import client_tools, tool_outputs

ACTION = {
    "type": "submit_tool_outputs",
    "submit_tool_outputs": {
        "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "call_b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
        ]
    },
}
BOTH = [{"tool_call_id": "call_b", "output": "2"}, {"tool_call_id": "call_a", "output": "1"}]


@pytest.fixture
def paused(alice: User, make_thread: Any) -> Run:
    _, run = make_thread(alice, status="requires_action")
    Run.objects.filter(pk=run.pk).update(required_action=ACTION)
    return Run.objects.get(pk=run.pk)


def _row(run: Run) -> tuple[str, Any, Any]:
    run.refresh_from_db()
    return run.status, run.required_action, run.submitted_tool_outputs


@pytest.mark.parametrize(
    "ids",
    [["call_a"], ["call_a", "call_b", "call_c"], ["call_a", "call_a"], ["call_a", "call_x"]],
)
def test_outputs_must_answer_each_call_once_and_no_other(ids: list[str]) -> None:
    outputs = [{"tool_call_id": one, "output": ""} for one in ids]
    with pytest.raises(InvalidInput) as refused:
        tool_outputs.check_answers(["call_a", "call_b"], outputs)
    assert refused.value.code == "tool_outputs_mismatch"


def test_outputs_in_any_order_are_recorded_and_the_run_leaves_requires_action(
    paused: Run,
) -> None:
    assert tool_outputs.store_outputs(paused.pk, BOTH) == ["call_a", "call_b"]
    assert _row(paused) == ("in_progress", None, BOTH)
    assert tool_outputs.take_stored(paused.pk) == BOTH


def test_wrong_outputs_change_nothing(paused: Run) -> None:
    with pytest.raises(InvalidInput):
        tool_outputs.store_outputs(paused.pk, BOTH[:1])
    assert _row(paused) == ("requires_action", ACTION, None)
    assert tool_outputs.take_stored(paused.pk) is None


def test_a_second_submission_is_a_conflict_and_keeps_the_first(paused: Run) -> None:
    tool_outputs.store_outputs(paused.pk, BOTH)
    other = [{**output, "output": "other"} for output in BOTH]
    with pytest.raises(Conflict) as refused:
        tool_outputs.store_outputs(paused.pk, other)
    assert refused.value.code == "not_waiting"
    assert _row(paused) == ("in_progress", None, BOTH)


def test_the_update_does_not_take_a_run_whose_pause_changed_meanwhile(paused: Run) -> None:
    # As if another submission and a new pause landed between the check and the UPDATE.
    original = Run.objects.filter

    def racing(*args: Any, **kwargs: Any) -> Any:
        if "submitted_tool_outputs__isnull" in kwargs:
            new_action = {**ACTION, "submit_tool_outputs": {"tool_calls": []}}
            original(pk=paused.pk).update(required_action=new_action)
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Run.objects, "filter", racing)
        with pytest.raises(Conflict):
            tool_outputs.store_outputs(paused.pk, BOTH)
    assert _row(paused)[2] is None


@pytest.mark.parametrize("status", ["completed", "cancelled", "expired", "failed"])
def test_a_run_that_ended_is_not_waiting(alice: User, make_thread: Any, status: str) -> None:
    _, run = make_thread(alice, status=status)
    with pytest.raises(Conflict):
        tool_outputs.store_outputs(run.pk, BOTH)
    assert _row(run) == (status, None, None)


def test_a_run_still_in_progress_may_not_have_its_pause_written_yet(
    alice: User, make_thread: Any
) -> None:
    _, run = make_thread(alice, status="in_progress")
    assert tool_outputs.store_outputs(run.pk, BOTH) is None
    assert _row(run) == ("in_progress", None, None)


def test_resuming_clears_the_outputs_taken(paused: Run) -> None:
    tool_outputs.store_outputs(paused.pk, BOTH)
    client_tools.run_resume(run_id=paused.pk)
    assert _row(paused) == ("in_progress", None, None)
    assert tool_outputs.take_stored(paused.pk) is None
