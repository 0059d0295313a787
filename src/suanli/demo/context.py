"""What every step of the tour shares: the console, the database, tokens and facts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console


@dataclass
class DemoContext:
    console: Console
    engine: Any
    url: str
    port: int
    tokens: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    sections: int = 0

    def section(self, title: str) -> None:
        """Start the next numbered section of the tour."""
        self.sections += 1
        self.console.rule(f"[bold]{self.sections}. {title}")


Step = Callable[[DemoContext], None]
