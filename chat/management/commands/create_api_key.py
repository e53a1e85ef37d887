"""`manage.py create_api_key USERNAME [--name NAME]`: a new API key for the user, printed as
the last line (the only time it is shown; scripts take it with `tail -n 1`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from chat.api_keys import api_key_create


class Command(BaseCommand):
    help = "Create an API key for the Assistants API under /v1/ and print it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to tell the key apart.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['username']!r}.") from None
        key, raw = api_key_create(user=user, name=options["name"])
        self.stdout.write(f"API key {key.prefix}… for {user.username} (shown once):")
        self.stdout.write(raw)
