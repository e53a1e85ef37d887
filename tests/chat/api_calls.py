"""Calls the API tests share: a JSON POST, and the code of an error answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.test import Client

from chat.models import Run, Thread

MakeThread = Callable[..., tuple[Thread, Run]]


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def error_code(response: Any) -> str:
    return json.loads(response.content)["error"]["code"]
