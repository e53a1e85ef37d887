"""List endpoints: `limit` (1 to 100, default 20), `order` (`asc` or `desc` by creation,
default `desc`), and the cursors `after` / `before`, which are ids of the list's objects.
The answer is `{"object": "list", "data", "first_id", "last_id", "has_more"}`.

Rows are ordered by primary key, which grows with creation time and, unlike it, never ties.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest

from chat.v1.endpoint import BadParam

M = TypeVar("M", bound=Model)
LIMIT_DEFAULT, LIMIT_MAX = 20, 100


@dataclass(frozen=True)
class PageQuery:
    limit: int
    ascending: bool
    after: str | None
    before: str | None


def page_query(request: HttpRequest) -> PageQuery:
    params = request.GET
    raw_limit = params.get("limit", str(LIMIT_DEFAULT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= LIMIT_MAX:
        raise BadParam(f"'limit' must be an integer from 1 to {LIMIT_MAX}.", param="limit")
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise BadParam("'order' must be 'asc' or 'desc'.", param="order")
    after, before = params.get("after") or None, params.get("before") or None
    return PageQuery(int(raw_limit), order == "asc", after, before)


def paginate(
    rows: QuerySet[M],
    query: PageQuery,
    *,
    cursor_pk: Callable[[str], int],
    render: Callable[[M], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `rows`; `cursor_pk` turns a cursor (an API id) into its row's pk."""
    forward = query.ascending
    if query.after is not None:
        pk = cursor_pk(query.after)
        rows = rows.filter(pk__gt=pk) if forward else rows.filter(pk__lt=pk)
    if query.before is not None:
        pk = cursor_pk(query.before)
        rows = rows.filter(pk__lt=pk) if forward else rows.filter(pk__gt=pk)
    # Only `before`: the page is the objects just before the cursor, so read from it backwards.
    backwards = query.before is not None and query.after is None
    ascending = forward != backwards
    found = list(rows.order_by("pk" if ascending else "-pk")[: query.limit + 1])
    has_more, found = len(found) > query.limit, found[: query.limit]
    if backwards:
        found.reverse()
    data = [render(row) for row in found]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }
