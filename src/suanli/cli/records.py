"""A record read from a file for the registry commands (``offers create``, ``tenants create``,
...): a JSON object or a TOML table with the API's fields, checked whole by the API's own request
schema before anything is written; an error names the field."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from suanli.domain.registry import TUPLE_FACTS
from suanli.errors import ValidationError

M = TypeVar("M", bound=BaseModel)


def read_body(path: Path, name: str, schema: type[M]) -> M:
    """The file's record as the request schema ``schema`` takes it; ``name`` is the field an
    unreadable file is reported under."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except OSError as exc:
        raise ValidationError(name, f"cannot read {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(
            name, f"{path} is not valid {path.suffix[1:] or 'JSON'}: {exc}"
        ) from None
    try:
        return schema.model_validate(raw)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or name
        raise ValidationError(field, first["msg"]) from None


def record_facts(body: BaseModel) -> dict[str, Any]:
    """A checked body as the registry's record takes it (lists of facts as tuples)."""
    return {k: tuple(v) if k in TUPLE_FACTS else v for k, v in body.model_dump().items()}


def read_record(path: Path, name: str, schema: type[BaseModel]) -> dict[str, Any]:
    """The file's record, checked, as the registry's record takes it."""
    return record_facts(read_body(path, name, schema))
