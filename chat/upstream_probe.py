"""The admin's "test connection": one request to an assistant's upstream, and a sentence
saying what it answered.

The request is `GET <base_url>/models`, which OpenAI and the servers compatible with it
(vLLM, llama.cpp, Ollama) answer with the models they serve, and which costs no tokens. It
carries the assistant's key as a run would (`Assistant.api_key`, so a key the operator's rules
refuse is not sent), with the run's connect timeout, and follows no redirect.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from django.conf import settings

from chat.models import Assistant

READ_TIMEOUT_SECONDS = 10.0
EXCERPT_CHARS = 200


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    sentence: str


def probe(assistant: Assistant) -> ProbeResult:
    url = assistant.resolved_base_url() + "/models"
    key = assistant.api_key()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    timeout = httpx.Timeout(READ_TIMEOUT_SECONDS, connect=settings.UPSTREAM_CONNECT_TIMEOUT)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        return ProbeResult(False, f"{assistant}: no answer from {url} ({type(exc).__name__}).")
    said = f"{response.status_code} {response.reason_phrase}"
    keyed = "with" if key else "without"
    sentence = f"{assistant}: GET {url} {keyed} an API key answered {said}: {_gist(response)}"
    return ProbeResult(response.is_success, sentence)


def _gist(response: httpx.Response) -> str:
    """The models listed, the upstream's error message, or the start of its body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        names = [str(m.get("id")) for m in body["data"] if isinstance(m, dict)]
        return f"{len(names)} models ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})."
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:EXCERPT_CHARS]
    text = response.text.strip()
    return (text[:EXCERPT_CHARS] + ("..." if len(text) > EXCERPT_CHARS else "")) or "(no body)"
