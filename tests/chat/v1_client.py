"""An in-process client of the /v1/ API for one user (runs on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from chat.api_keys import api_key_create


class V1:
    def __init__(self, user: User) -> None:
        _, raw = api_key_create(user=user)
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/v1{path}", params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        # json.dumps writes a lone surrogate as the escape "\ud800", as a client would send it.
        data = json.dumps(body)
        return self.client.post(f"/v1{path}", data, content_type="application/json")


def error_of(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/json", response.content[:200]
    return dict(json.loads(response.content)["error"])
