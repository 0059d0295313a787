"""Refuse, before any handler runs, input that no field of ours can hold.

PostgreSQL cannot store a NUL character in text or JSON, neither database holds an integer
beyond signed 64 bits, and no JSON reply can carry NaN or Infinity (which Python's JSON reader
accepts); left to the database or the reply, each would surface as a 500. Checked here once
for every path, query and JSON body, it is a 422 naming the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from fastapi import Request

from suanli.errors import ValidationError

INT64_MAX = 2**63 - 1


def _problems(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path, "must not contain the NUL character"
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -INT64_MAX <= value <= INT64_MAX:
            yield path, "is out of range (signed 64-bit)"
    elif isinstance(value, float):
        if not math.isfinite(
            value
        ):  # Python's JSON reads NaN and Infinity; no reply can carry them
            yield path, "must be a finite number"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _problems(key, path)
            yield from _problems(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _problems(item, f"{path}.{i}" if path else str(i))


def _check(value: Any, path: str) -> None:
    for field, message in _problems(value, path):
        raise ValidationError(field or "body", message)


async def reject_unstorable(request: Request) -> None:
    """A dependency of every /api/v1 route (see app.create_app)."""
    for name, value in request.path_params.items():
        _check(value, name)
    for name, value in request.query_params.multi_items():
        _check(value, name)
    if not request.headers.get("content-type", "").startswith("application/json"):
        return
    body = await request.body()  # cached by Starlette; the route reads it again
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return  # FastAPI itself answers malformed JSON with a 422
    _check(data, "")
