"""`manage.py ensure_assistant NAME --protocol P --base-url URL --model M [...]`: create the
assistant, or bring an existing one of that name up to these settings (so running it twice is
harmless). `make run-local-model` uses it to offer the local model server in the chat."""

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
        parser.add_argument("--base-url", required=True)
        parser.add_argument("--model", required=True)
        parser.add_argument("--context-window", type=int, default=None)
        parser.add_argument("--instructions", default="You are a helpful assistant.")

    def handle(self, *args: Any, **options: Any) -> None:
        fields = {
            "protocol": options["protocol"],
            "base_url": options["base_url"],
            "model": options["model"],
            "context_window": options["context_window"],
            "instructions": options["instructions"],
        }
        assistant = Assistant.objects.filter(name=options["name"]).first()
        assistant = assistant or Assistant(name=options["name"], tools=[])
        for field, value in fields.items():
            setattr(assistant, field, value)
        try:
            assistant.full_clean()
        except ValidationError as exc:
            raise CommandError(f"not a valid assistant: {exc}") from exc
        assistant.save()
        self.stdout.write(f"assistant {assistant.name!r} ({assistant.pk}) is ready")
