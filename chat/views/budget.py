"""GET /api/budget/: the user's token budget, as the chat's meter shows it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from chat.budgets.meter import budget_meter
from chat.views.decorators import api_endpoint
from chat.views.http import request_owner


def _budget(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"periods": budget_meter(user_id=request_owner(request).pk)})


budget = api_endpoint(GET=_budget)
