"""Export (docs/api.md): a thread as JSON or Markdown, all of the user's threads as a zip.
Each answer is a download (Content-Disposition: attachment)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from chat import export, selectors
from chat.errors import InvalidInput
from chat.views.decorators import api_endpoint

_TYPES = {"json": "application/json", "md": "text/markdown; charset=utf-8"}


def _thread_export(request: HttpRequest, thread_id: int) -> HttpResponse:
    kind = request.GET.get("format", "json")
    if kind not in _TYPES:
        raise InvalidInput("'format' must be json or md.", code="invalid_format")
    detail = selectors.thread_detail(user=request.user, thread_id=thread_id)
    thread = detail.thread
    if kind == "json":
        body = export.as_json(export.thread_export(thread))
    else:
        body = export.thread_markdown(thread, detail.messages).encode()
    return _download(body, _TYPES[kind], export.filename(thread, kind))


def _archive(request: HttpRequest) -> HttpResponse:
    body = export.user_archive(user=request.user)
    return _download(body, "application/zip", "chats.zip")


def _download(body: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


thread_export = api_endpoint(GET=_thread_export)
archive = api_endpoint(GET=_archive)
