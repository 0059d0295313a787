"""The base of every request body: strict types and no unknown fields.

Strict: ``true`` is not the integer 1 and ``"5"`` is not a number, so a client's type mistake is a
422 naming the field rather than a silent coercion. Unknown fields are refused, so a misspelt
field is not silently ignored.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
