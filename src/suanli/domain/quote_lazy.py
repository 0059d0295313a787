"""A sequence whose items are built when first read: a quote's rows and refusals, of which a
reader often looks only at the first few."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar, overload

T = TypeVar("T")


class Lazy(Sequence[T]):
    """``n`` items, item ``i`` being ``make(i)``, built once on first read."""

    __slots__ = ("_got", "_make")

    def __init__(self, n: int, make: Callable[[int], T]) -> None:
        self._got: list[T | None] = [None] * n
        self._make = make

    def __len__(self) -> int:
        return len(self._got)

    def _at(self, i: int) -> T:
        found = self._got[i]
        if found is None:
            found = self._got[i] = self._make(i if i >= 0 else i + len(self._got))
        return found

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(len(self._got)))]
        return self._at(index)

    def __iter__(self) -> Iterator[T]:
        return (self._at(i) for i in range(len(self._got)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))
