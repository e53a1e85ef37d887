"""`manage.py ensure_assistant NAME --protocol P [--base-url URL] --model M [...]`: create the
assistant, or bring an existing one of that name up to these settings (so running it twice is
harmless); with `--if-missing`, an existing one is left as it is (it may have been edited in
the admin). `make run-local-model` uses it to offer the local model server in the chat, and
`make run` to offer the built-in simulator over Chat Completions beside the default one (over
the Assistants API), so that Continue, which only Chat Completions allows, can be tried."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from chat.models import Assistant, Protocol


class Command(BaseCommand):
    help = "Create or update an assistant by name."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument("--protocol", choices=Protocol.values, required=True)
        parser.add_argument("--base-url", default="", help="blank: the built-in simulator")
        parser.add_argument("--model", required=True)
        parser.add_argument("--context-window", type=int, default=None)
        parser.add_argument("--instructions", default="You are a helpful assistant.")
        parser.add_argument("--if-missing", action="store_true", help="leave an existing one")

    def handle(self, *args: Any, **options: Any) -> None:
        fields = {
            "protocol": options["protocol"],
            "base_url": options["base_url"],
            "model": options["model"],
            "context_window": options["context_window"],
            "instructions": options["instructions"],
        }
        assistant = Assistant.objects.filter(name=options["name"]).first()
        if assistant is not None and options["if_missing"]:
            self.stdout.write(f"assistant {assistant.name!r} ({assistant.pk}) is there already")
            return
        assistant = assistant or Assistant(name=options["name"], tools=[])
        for field, value in fields.items():
            setattr(assistant, field, value)
        try:
            assistant.full_clean()
        except ValidationError as exc:
            raise CommandError(f"not a valid assistant: {exc}") from exc
        assistant.save()
        self.stdout.write(f"assistant {assistant.name!r} ({assistant.pk}) is ready")
