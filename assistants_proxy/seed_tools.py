"""The seed's tools, as its assistant declares them: `get_weather`, and the built-ins.

One definition for everything that offers the function: the simulator's default assistant, the
CLI's requests to stateless upstreams, and the app's own implementation (`chat.tools.weather`).
"""

from __future__ import annotations

from typing import Any

GET_WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "The city and state e.g. San Francisco, CA"},
        "unit": {"type": "string", "enum": ["c", "f"]},
    },
    "required": ["location"],
}

GET_WEATHER_DESCRIPTION = "Determine weather in my location"

GET_WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": GET_WEATHER_DESCRIPTION,
        "parameters": GET_WEATHER_PARAMETERS,
    },
}

SEED_TOOLS: list[dict[str, Any]] = [
    {"type": "code_interpreter"},
    {"type": "file_search", "file_search": {"max_num_results": 50}},
    GET_WEATHER,
]
