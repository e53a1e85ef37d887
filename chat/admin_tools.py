"""The assistant form's built-in tools: the app's own function tools (`chat.tools`) offered
as checkboxes, so an assistant added in the admin can use them without anyone writing their
JSON. They are on by default for a new assistant (a weather question then calls
`get_weather`); unticking one removes it. Other tools stay in the JSON `tools` field.
"""

from __future__ import annotations

from typing import Any

from django import forms

from chat.models import Assistant
from chat.tools import REGISTRY


def builtin_tool(name: str) -> dict[str, Any]:
    """The Assistants v2 function tool object for a registered tool."""
    tool = REGISTRY[name]
    function = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return {"type": "function", "function": function}


def _function_name(tool: Any) -> str | None:
    function = tool.get("function") if isinstance(tool, dict) else None
    return function.get("name") if isinstance(function, dict) else None


class AssistantForm(forms.ModelForm):  # type: ignore[type-arg]
    builtin_tools = forms.MultipleChoiceField(
        choices=[(name, name) for name in sorted(REGISTRY)],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Built-in tools",
        help_text="The app's own function tools, run by this server. On for a new assistant.",
    )

    class Meta:
        model = Assistant
        fields = ["tools"]  # the admin's fieldsets name the rest

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.initial["builtin_tools"] = sorted(REGISTRY)
        else:
            names = {_function_name(tool) for tool in self.instance.tools or []}
            self.initial["builtin_tools"] = sorted(REGISTRY.keys() & names)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        tools = cleaned.get("tools")
        if isinstance(tools, list):
            # The JSON keeps every other tool; the boxes decide the built-in ones.
            others = [tool for tool in tools if _function_name(tool) not in REGISTRY]
            chosen = [builtin_tool(name) for name in cleaned.get("builtin_tools") or []]
            cleaned["tools"] = others + chosen
        return cleaned
