"""Frozen records that a ledger batch makes by the thousand, made at half the cost.

A frozen dataclass's generated ``__init__`` stores each field with ``object.__setattr__``
(its own ``__setattr__`` refuses): on CPython 3.11 that is 2.0 µs for a 13-field ``Transfer``,
a tenth of a batch of 100 transfers once the accounts, transfers and outcomes are counted.
``quick_init`` gives a frozen, slotted dataclass an ``__init__`` that stores each field through
its slot's own descriptor instead (1.0 µs), with the same parameters, order and defaults. What
makes the record a record is unchanged: assignment still raises ``FrozenInstanceError``, and
equality, hashing, ``repr`` and ``dataclasses.replace`` are the dataclass's own.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Replace the generated ``__init__`` of ``cls`` (a frozen, slotted dataclass whose fields
    are all plain parameters: no ``default_factory``, no ``init=False``, no keyword-only field,
    no ``__post_init__``) by one that stores the fields through their slots."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which this __init__ would skip")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]  # checked above
    scope: dict[str, Any] = {}
    signature, body = [], []
    for f in fields:
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name} is not a plain parameter")
        scope[f"_store_{f.name}"] = cls.__dict__[f.name].__set__  # the slot's descriptor
        if f.default is dataclasses.MISSING:
            signature.append(f.name)
        else:
            scope[f"_default_{f.name}"] = f.default
            signature.append(f"{f.name}=_default_{f.name}")
        body.append(f"    _store_{f.name}(self, {f.name})")
    source = f"def __init__(self, {', '.join(signature)}):\n" + ("\n".join(body) or "    pass")
    exec(source, scope)  # built from the class's own field names, as dataclasses does
    init = scope["__init__"]
    init.__qualname__, init.__module__ = f"{cls.__qualname__}.__init__", cls.__module__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
