"""The assistant every simulator ships with: the seed's assistant, under a fixed id.

Clients can use `DEFAULT_ASSISTANT_ID` without creating an assistant first, and it keeps
working across simulator restarts because the id never changes.
"""

from .wire import JsonObject, assistant

DEFAULT_ASSISTANT_ID = "asst_" + "simulator".ljust(24, "0")  # asst_simulator000000000000000

GET_WEATHER: JsonObject = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Determine weather in my location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {
                    "type": "string",
                    "description": "The city and state e.g. San Francisco, CA",
                },
                "unit": {"type": "string", "enum": ["c", "f"]},
            },
            "required": ["location"],
        },
    },
}

DEFAULT_TOOLS: list[JsonObject] = [
    {"type": "code_interpreter"},
    {"type": "file_search", "file_search": {"max_num_results": 50}},
    GET_WEATHER,
]


def default_assistant() -> JsonObject:
    params = {
        "name": "Simulator",
        "model": "gpt-4o",
        "instructions": "You are a very useful assistant.",
        "tools": DEFAULT_TOOLS,
        "temperature": 0.7,  # the seed's runs report 0.7
        "top_p": 1.0,
    }
    return assistant(assistant_id=DEFAULT_ASSISTANT_ID, params=params)
