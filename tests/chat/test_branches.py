"""The tree of a thread's messages (`chat.branches.Tree`), on rows written here: which branch
is shown, which versions each message offers, where a switch leads."""

from __future__ import annotations

from chat.branches import Node, RunNode, Tree

# A thread: "hi" (1, run 10) answered by 2; regenerated (run 11) as 3; the user followed
# reply 2 with "more" (4, run 12) answered by 5, then edited "hi" into "hey" (6, run 13)
# whose run failed with no reply.
MESSAGES = [
    Node(1, None, "user", 10),
    Node(2, 1, "assistant", 10),
    Node(3, 1, "assistant", 11),
    Node(4, 2, "user", 12),
    Node(5, 4, "assistant", 12),
    Node(6, None, "user", 13),
]
RUNS = [RunNode(10, None), RunNode(11, 1), RunNode(12, None), RunNode(13, None)]


def tree() -> Tree:
    return Tree(MESSAGES, RUNS)


def test_the_branch_is_the_path_from_the_first_message_to_the_leaf() -> None:
    branch = tree().branch(5)
    assert branch.message_ids == [1, 2, 4, 5]
    assert branch.run_ids == [10, 12]


def test_a_regenerated_reply_is_a_second_version_of_the_answer() -> None:
    replies = tree().branch(3).replies[1]
    assert replies["versions"] == [
        {"run_id": 10, "message_id": 2},
        {"run_id": 11, "message_id": 3},
    ]
    assert (replies["run_id"], replies["index"]) == (11, 1)


def test_an_edited_message_is_a_second_version_of_the_message() -> None:
    branch = tree().branch(6)
    assert branch.edits[6] == {"ids": [1, 6], "index": 1}
    # Its run failed with no reply: still the run shown after it, the only version.
    assert branch.run_ids == [13]
    assert branch.replies[6]["versions"] == [{"run_id": 13, "message_id": None}]


def test_switching_to_a_version_leads_to_the_newest_end_below_it() -> None:
    assert tree().extend(2) == 5
    assert tree().extend(3) == 3
    # From a message: its newest run's reply, and on down.
    assert tree().extend(1) == 3


def test_a_leaf_above_newer_replies_shows_them() -> None:
    # A reply written after the leaf was chosen (the leaf was its user message).
    assert tree().branch(4).message_ids == [1, 2, 4, 5]


def test_an_older_empty_attempt_is_no_version_but_its_run_is_kept() -> None:
    runs = [*RUNS, RunNode(14, 1)]  # "hi" answered a third time, then that run failed empty
    failed_last = Tree(MESSAGES, runs).branch(1)
    assert failed_last.replies[1]["versions"][-1] == {"run_id": 14, "message_id": None}
    regenerated = Tree([*MESSAGES, Node(7, 1, "assistant", 15)], [*runs, RunNode(15, 1)])
    versions = regenerated.branch(7).replies[1]["versions"]
    assert [v["run_id"] for v in versions] == [10, 11, 15]


def test_a_reply_written_without_a_parent_follows_its_runs_message() -> None:
    rows = [Node(1, None, "user", 10), Node(2, None, "assistant", 10)]
    assert Tree(rows, [RunNode(10, None)]).branch(1).message_ids == [1, 2]


def test_an_unknown_leaf_shows_the_newest_messages_branch() -> None:
    assert tree().branch(None).message_ids == [6]
    assert Tree([], []).branch(None).message_ids == []
