"""Executing runs: `get_engine()` is this process's `RunEngine` (`chat.runs.engine`)."""

from __future__ import annotations

from chat.runs.engine import RunEngine

_engine = RunEngine()


def get_engine() -> RunEngine:
    return _engine
