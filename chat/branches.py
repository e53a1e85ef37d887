"""A thread's messages form a tree; the user sees one branch of it, from the first message
to the thread's `leaf`.

- A user message's parent is the end of the branch it was sent on; an edited and resent
  message is a new user message beside the old one (same parent).
- A reply's parent is the user message it answers (a run's later replies follow its first).
  Regenerating a reply is a new run answering the same user message (`Run.prompt`): its
  replies are siblings of the old ones.
- Versions of a reply are counted by run. A run that ended with no reply at all is a
  version only while it is the newest answer to its message (it is what the user is
  looking at); older empty attempts are kept, with their usage, but offer nothing to see.

`Tree` works on rows already loaded (the thread page loads them all anyway); it never
queries. Walking a 1,000-message thread is a few dictionary lookups per message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

USER = "user"


@dataclass(frozen=True, slots=True)
class Node:
    pk: int
    parent_id: int | None
    role: str
    run_id: int | None


@dataclass(frozen=True, slots=True)
class RunNode:
    pk: int
    prompt_id: int | None  # None: the run answers its own user message


@dataclass
class Branch:
    """The branch on show: its messages (ids, oldest first), the run answering each user
    message on it, and the versions to switch between."""

    message_ids: list[int] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)
    # user message id -> {"run_id", "versions": [...], "index"}, and the message's own
    # versions (edits): {"ids": [...], "index"}.
    replies: dict[int, dict[str, Any]] = field(default_factory=dict)
    edits: dict[int, dict[str, Any]] = field(default_factory=dict)


class Tree:
    def __init__(self, messages: Iterable[Node], runs: Iterable[RunNode]) -> None:
        nodes = sorted(messages, key=lambda m: m.pk)
        own = {m.run_id: m.pk for m in nodes if m.role == USER and m.run_id}
        prompts = {run.pk: run.prompt_id or own.get(run.pk) for run in runs}
        self.runs_of: defaultdict[int, list[int]] = defaultdict(list)  # user message -> runs
        # Runs with no user message at all (written by hand): on no branch, hidden by none.
        self.unplaced = [run_id for run_id in sorted(prompts) if prompts[run_id] is None]
        for run_id in sorted(prompts):
            if (prompt := prompts[run_id]) is not None:
                self.runs_of[prompt].append(run_id)
        self.nodes = {m.pk: _with_parent(m, prompts) for m in nodes}
        self.children: defaultdict[int | None, list[Node]] = defaultdict(list)
        for node in self.nodes.values():
            self.children[node.parent_id].append(node)

    # -- walking -------------------------------------------------------------------------

    def path_to(self, leaf_id: int | None) -> list[Node]:
        """The messages from the first to `leaf_id`, oldest first (the newest message's
        branch when the leaf is unknown)."""
        if leaf_id not in self.nodes:
            leaf_id = max(self.nodes, default=None)
        path, node_id = [], leaf_id
        while node_id is not None:
            node = self.nodes[node_id]
            path.append(node)
            node_id = node.parent_id
        return path[::-1]

    def extend(self, pk: int) -> int:
        """The end of the newest branch below message `pk`: where switching to it leads."""
        while True:
            node = self.nodes[pk]
            following = self._next_on_newest(node)
            if following is None:
                return pk
            pk = following

    def _next_on_newest(self, node: Node) -> int | None:
        if node.role == USER:
            runs = self.runs_of.get(node.pk) or []
            # A newest run with no reply yet (queued, streaming, failed early) ends the
            # branch: the page shows it after the message.
            return self.first_reply(runs[-1], node.pk) if runs else None
        children = self.children.get(node.pk)
        return children[-1].pk if children else None

    def first_reply(self, run_id: int, prompt_id: int) -> int | None:
        for child in self.children.get(prompt_id, ()):
            if child.role != USER and child.run_id == run_id:
                return child.pk
        return None

    # -- what the page shows --------------------------------------------------------------

    def branch(self, leaf_id: int | None) -> Branch:
        """What the page shows for a thread whose leaf is `leaf_id`: its branch, down to
        the newest end below it (replies written since the leaf was chosen)."""
        if leaf_id in self.nodes:
            leaf_id = self.extend(leaf_id)
        path = self.path_to(leaf_id)
        shown = Branch(message_ids=[node.pk for node in path])
        for position, node in enumerate(path):
            if node.role != USER:
                continue
            following = path[position + 1] if position + 1 < len(path) else None
            run_id = self._run_shown(node, following)
            shown.replies[node.pk] = self._reply_versions(node, run_id)
            shown.edits[node.pk] = self._edit_versions(node)
            if run_id is not None:
                shown.run_ids.append(run_id)
        shown.run_ids += self.unplaced
        return shown

    def _run_shown(self, node: Node, following: Node | None) -> int | None:
        runs = self.runs_of.get(node.pk) or []
        if following is not None and following.role != USER:
            return following.run_id
        # No reply on the branch: the newest attempt, if it has no reply either.
        if runs and self.first_reply(runs[-1], node.pk) is None:
            return runs[-1]
        return None

    def _reply_versions(self, node: Node, run_id: int | None) -> dict[str, Any]:
        runs = self.runs_of.get(node.pk) or []
        versions = [
            {"run_id": run, "message_id": reply}
            for position, run in enumerate(runs)
            if (reply := self.first_reply(run, node.pk)) is not None or position == len(runs) - 1
        ]
        index = next((i for i, v in enumerate(versions) if v["run_id"] == run_id), None)
        return {"run_id": run_id, "versions": versions, "index": index}

    def _edit_versions(self, node: Node) -> dict[str, Any]:
        ids = [n.pk for n in self.children.get(node.parent_id, ()) if n.role == USER]
        return {"ids": ids, "index": ids.index(node.pk)}


def _with_parent(node: Node, prompts: dict[int, int | None]) -> Node:
    # A reply written without a parent (by hand, or by a test) follows its run's message.
    if node.parent_id is not None or node.role == USER or node.run_id is None:
        return node
    return Node(node.pk, prompts.get(node.run_id), node.role, node.run_id)
