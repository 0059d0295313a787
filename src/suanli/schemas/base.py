"""The base of every request body: strict types and no unknown fields.

Strict: ``true`` is not the integer 1 and ``"5"`` is not a number, so a client's type mistake is a
422 naming the field rather than a silent coercion. Unknown fields are refused, so a misspelt
field is not silently ignored.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


# Bounds by the domain, for every body. The guard (``api.guard``) is only the backstop.
MAX_FEN = 10**15  # ¥10 trillion: above any program's budget or any contract
MAX_ACCEL_HOURS = 1e9  # a 100,000-chip cluster for a year is 8.8e8
Fen = Annotated[int, Field(ge=0, le=MAX_FEN, description="minor units (fen, cents)")]
PositiveFen = Annotated[int, Field(gt=0, le=MAX_FEN, description="minor units (fen, cents)")]
AccelHours = Annotated[float, Field(ge=0, le=MAX_ACCEL_HOURS)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
Ref = Annotated[str, Field(min_length=1, max_length=64)]  # an id of a stored record
Text = Annotated[str, Field(max_length=4000)]
# What a site runs: a command line, its environment, paths.
MAX_ARGS, MAX_ENV = 256, 128
Arg = Annotated[str, Field(max_length=4096)]
EnvName = Annotated[str, Field(min_length=1, max_length=128)]
Path = Annotated[str, Field(max_length=1024)]
