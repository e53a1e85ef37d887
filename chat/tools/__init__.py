"""Function tools the app runs for assistants (`registry`), and the ones it ships with."""

from __future__ import annotations

from chat.tools import weather
from chat.tools.registry import REGISTRY, Tool, call_tool, call_tools, register

__all__ = ["REGISTRY", "Tool", "call_tool", "call_tools", "register", "weather"]
