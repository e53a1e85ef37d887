"""Create the default assistant: the built-in simulator, configured like the seed capture."""

from typing import Any

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

GET_WEATHER = {
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
}

SEED_TOOLS: list[dict[str, Any]] = [
    {"type": "code_interpreter"},
    {"type": "file_search", "file_search": {"max_num_results": 50}},
    {"type": "function", "function": GET_WEATHER},
]


def create_default(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Assistant = apps.get_model("chat", "Assistant")
    # Re-running on a database that already has a default must not trip the unique index.
    if Assistant.objects.filter(is_default=True).exists():
        return
    Assistant.objects.create(
        name="Simulator",
        base_url="",  # blank: resolved from SIMULATOR_URL at run time
        model="gpt-4o",
        instructions="You are a very useful assistant.",
        tools=SEED_TOOLS,
        temperature=0.7,
        top_p=1.0,
        is_default=True,
    )


def delete_default(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Assistant = apps.get_model("chat", "Assistant")
    Assistant.objects.filter(name="Simulator", is_default=True, threads=None).delete()


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]

    operations = [migrations.RunPython(create_default, delete_default)]
