"""The assistant every simulator ships with: the seed's assistant, under a fixed id.

Clients can use `DEFAULT_ASSISTANT_ID` without creating an assistant first, and it keeps
working across simulator restarts because the id never changes.
"""

from assistants_proxy import seed_tools

from .wire import JsonObject, assistant

DEFAULT_ASSISTANT_ID = "asst_" + "simulator".ljust(24, "0")  # asst_simulator000000000000000

GET_WEATHER = seed_tools.GET_WEATHER
DEFAULT_TOOLS = seed_tools.SEED_TOOLS


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
