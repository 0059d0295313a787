"""Refuse, before any handler runs, input that no field of ours can hold.

PostgreSQL cannot store a NUL character in text or JSON, neither database holds an integer
beyond signed 64 bits, no JSON reply can carry NaN or Infinity (which Python's JSON reader
accepts), and a lone surrogate (``"\ud800"``, valid JSON, not a Unicode scalar value) can be
neither stored as UTF-8 nor echoed in a reply; left to the database or the reply, each would
surface as a 500 or a reset connection. Checked here once for every path, query and JSON body,
it is a 422 naming the field.

It is also the backstop for sizes that the schemas bound field by field: no string longer than
``MAX_STRING_CHARS``, no array or object of more than ``MAX_ITEMS``, no number beyond
``MAX_MAGNITUDE`` (no hour, count or amount of ours comes near it; ``1e308`` hours did).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from fastapi import Request

from suanli.errors import ValidationError

INT64_MAX = 2**63 - 1
MAX_STRING_CHARS = 65_536
MAX_ITEMS = 10_000
MAX_MAGNITUDE = 1e15


def _string_problem(value: str) -> str:
    if "\x00" in value:
        return "must not contain the NUL character"
    if len(value) > MAX_STRING_CHARS:
        return f"at most {MAX_STRING_CHARS} characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (a lone surrogate is not a character)"
    return ""


def _problems(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        problem = _string_problem(value)
        if problem:
            yield path, problem
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -INT64_MAX <= value <= INT64_MAX:
            yield path, "is out of range (signed 64-bit)"
    elif isinstance(value, float):
        # Python's JSON reads NaN and Infinity; no reply can carry them.
        if not math.isfinite(value):
            yield path, "must be a finite number"
        elif abs(value) > MAX_MAGNITUDE:
            yield path, f"is out of range (at most {MAX_MAGNITUDE:g} in size)"
    elif isinstance(value, dict | list) and len(value) > MAX_ITEMS:
        yield path or "body", f"at most {MAX_ITEMS} items"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _problems(key, path)
            yield from _problems(item, f"{path}.{key}" if path else _printable(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _problems(item, f"{path}.{i}" if path else str(i))


def _printable(key: str) -> str:
    # A field name is echoed in the reply: keep it to characters the reply can carry.
    return key.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")


def _check(value: Any, path: str) -> None:
    for field, message in _problems(value, path):
        raise ValidationError(field or "body", message)


async def reject_unstorable(request: Request) -> None:
    """A dependency of every /api/v1 route (see app.create_app)."""
    for name, value in request.path_params.items():
        _check(value, name)
    for name, value in request.query_params.multi_items():
        _check(value, name)
    body = await request.body()  # cached by Starlette; the route reads it again
    if not body:
        return
    # Whatever the content type says: FastAPI reads a body without one as JSON too.
    try:
        data = json.loads(body)
    except ValueError:
        return  # not JSON: FastAPI itself answers a malformed body with a 422
    _check(data, "")
