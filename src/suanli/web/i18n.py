"""Languages of the pages: message catalogues as data (``locales/<code>.json``), the locale a
browser prefers, and money, numbers and dates written the way that locale writes them."""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path

from suanli.domain.money import MINOR_UNITS

LOCALES = ("en", "zh-CN")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locales"
SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}


@cache
def catalogue(locale: str) -> dict[str, str]:
    data = json.loads((LOCALE_DIR / f"{locale}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return {str(k): str(v) for k, v in data.items()}


def translate(locale: str, key: str) -> str:
    """The message in ``locale``, else in English, else the key itself (visible, not blank)."""
    return catalogue(locale).get(key) or catalogue(DEFAULT).get(key) or key


def negotiate(accept_language: str | None) -> str:
    """The first supported locale in an Accept-Language header, by quality; else English."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()))
    for _q, _i, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


def pick(cookie: str | None, accept_language: str | None) -> str:
    return cookie if cookie in LOCALES else negotiate(accept_language)


def number(value: float | int, digits: int = 0) -> str:
    """Grouped by thousands with a comma in both locales (as zh-CN writes Arabic numerals)."""
    return f"{value:,.{digits}f}"


def money(amount_minor: int | None, currency: str = "CNY") -> str:
    """Integer minor units as ¥1,234.56; exact (no float on the way)."""
    if amount_minor is None:
        return "—"
    factor = MINOR_UNITS.get(currency, 100)
    places = len(str(factor)) - 1
    sign = "-" if amount_minor < 0 else ""
    whole, part = divmod(abs(int(amount_minor)), factor)
    text = f"{whole:,}" + (f".{part:0{places}d}" if places else "")
    return f"{sign}{SYMBOLS.get(currency, currency + ' ')}{text}"


def when(value: datetime | date | str | None, locale: str) -> str:
    """A date or time as the locale writes it: 2026年3月3日 14:05 or 3 Mar 2026 14:05 (UTC)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    day = value.date() if isinstance(value, datetime) else value
    if locale == "zh-CN":
        text = f"{day.year}年{day.month}月{day.day}日"
    else:
        text = f"{day.day} {day.strftime('%b')} {day.year}"
    if isinstance(value, datetime):
        text += f" {value.strftime('%H:%M')}"
    return text
