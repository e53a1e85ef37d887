"""CSV cells a spreadsheet will not run: text that starts like a formula (`=HYPERLINK(...)`,
also `+`, `-`, `@`, a tab or a carriage return) gets a leading single quote, as OWASP's CSV
injection advice says. Names in the export are chosen by users (an assistant's name), so
an operator opening the file must not run them. Numbers and dates are written as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]
