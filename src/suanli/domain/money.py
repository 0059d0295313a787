"""Money as integer minor units with a currency. Never floats."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

# ISO 4217 codes we accept, with the number of minor units in one major unit.
MINOR_UNITS: dict[str, int] = {"CNY": 100, "USD": 100, "EUR": 100, "INR": 100}


def check_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise ValueError(f"unknown currency {code!r}; known: {', '.join(sorted(MINOR_UNITS))}")
    return code


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units (fen for CNY, cents for USD)."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise TypeError("amount_minor must be an int")
        check_currency(self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __str__(self) -> str:
        return self.text(self.amount_minor, self.currency)

    @staticmethod
    def text(amount_minor: int, currency: str) -> str:
        """``str(Money(amount_minor, currency))`` without making one: explanations write many."""
        unit = MINOR_UNITS.get(currency)
        if unit is None or type(amount_minor) is not int:
            return str(Money(amount_minor, currency))  # refused as Money refuses it
        sign = "-" if amount_minor < 0 else ""
        major, minor = divmod(abs(amount_minor), unit)
        return f"{sign}{major:,}.{minor:02d} {currency}"


def apply_rate(amount_minor: int, rate: Fraction) -> int:
    """``amount × rate`` rounded down to a whole minor unit: a subsidy never pays a fen too much."""
    if rate < 0:
        raise ValueError("rate must be non-negative")
    return (amount_minor * rate.numerator) // rate.denominator
