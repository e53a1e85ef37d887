"""Which upstream answers a user's assistant: the operator's.

Users make assistants over the API (name, instructions, tools, model), but never say where
requests go nor with which key: the operator's assistants (those without an owner, set up in
the admin) are the catalogue, and a user's assistant runs on the upstream of the operator's
assistant for the same model (the default one first). So the models a user may ask for are
the ones the operator offers, and `upstream_policy` keeps applying to every upstream.
"""

from __future__ import annotations

from typing import Any

from chat.models import Assistant
from chat.v1.endpoint import BadParam

# What a user's assistant takes from the operator's for its model.
UPSTREAM_FIELDS = ("protocol", "base_url", "api_key_env", "context_window", "responses_history")


def offered_models() -> list[str]:
    rows = Assistant.objects.filter(owner=None).order_by("-is_default", "pk")
    return list(dict.fromkeys(rows.values_list("model", flat=True)))


def upstream_for_model(model: str) -> dict[str, Any]:
    """The upstream fields for `model`; BadParam naming the offered models otherwise."""
    found = Assistant.objects.filter(owner=None, model=model).order_by("-is_default", "pk").first()
    if found is None:
        offered = ", ".join(offered_models()) or "none"
        message = f"The model '{model}' is not offered here. Models offered: {offered}."
        raise BadParam(message, param="model")
    return {field: getattr(found, field) for field in UPSTREAM_FIELDS}
