"""Bar charts drawn twice: as an SVG the server writes (readable without JavaScript) and as an
Apache ECharts option the page's script turns into an interactive chart in its place."""

from __future__ import annotations

import json
from dataclasses import dataclass

from markupsafe import Markup, escape

COLOURS = ("#2f6fb0", "#d9822b", "#3a9a5b", "#9b4dca")
ROW_PX, LABEL_PX, WIDTH_PX = 22, 170, 640


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """Horizontal grouped bars: one group per category, one bar per series."""

    id: str
    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str = ""
    target: float | None = None  # a reference line (e.g. a share target)
    target_label: str = ""

    def peak(self) -> float:
        values = [v for s in self.series for v in s.values]
        return max([*values, self.target or 0.0, 1e-9])

    def svg(self) -> Markup:
        per_group = len(self.series) * ROW_PX + 10
        height = max(1, len(self.categories)) * per_group + 30
        span = WIDTH_PX - LABEL_PX - 90
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH_PX}" '
            f'height="{height}" viewBox="0 0 {WIDTH_PX} {height}" class="chart-svg">',
            f"<title>{escape(self.title)}</title>",
        ]
        for g, category in enumerate(self.categories):
            top = g * per_group + 4
            parts.append(
                f'<text x="0" y="{top + 15}" font-size="13" fill="#222">{escape(category)}</text>'
            )
            for s, series in enumerate(self.series):
                value = series.values[g]
                y = top + s * ROW_PX
                w = max(1.0, span * value / self.peak())
                parts.append(
                    f'<rect x="{LABEL_PX}" y="{y + 3}" width="{w:.1f}" height="{ROW_PX - 6}" '
                    f'fill="{COLOURS[s % len(COLOURS)]}"><title>{escape(series.name)}: '
                    f"{value:,.2f} {escape(self.unit)}</title></rect>"
                    f'<text x="{LABEL_PX + w + 4:.1f}" y="{y + 16}" font-size="12" fill="#222">'
                    f"{value:,.2f}</text>"
                )
        if self.target is not None:
            x = LABEL_PX + span * self.target / self.peak()
            parts.append(
                f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 22}" stroke="#c0392b" '
                f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{height - 8}" '
                f'font-size="12" fill="#c0392b">{escape(self.target_label)}</text>'
            )
        legend = " · ".join(escape(s.name) for s in self.series)
        parts.append(f'<text x="0" y="{height - 8}" font-size="12" fill="#555">{legend}</text>')
        parts.append("</svg>")
        return Markup("".join(parts))

    def option(self) -> str:
        """The ECharts option as JSON, for the page's script (a data attribute, not code)."""
        series: list[dict[str, object]] = [
            {"name": s.name, "type": "bar", "data": list(s.values)} for s in self.series
        ]
        if self.target is not None and series:
            series[0]["markLine"] = {
                "symbol": "none",
                "data": [{"xAxis": self.target, "name": self.target_label}],
                "label": {"formatter": self.target_label},
            }
        option = {
            "aria": {"enabled": True},  # the figure's caption is the title
            "animation": False,  # the numbers at once (and screenshots that show them)
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0, "left": 0},
            "grid": {"left": 8, "right": 48, "top": 32, "bottom": 8, "containLabel": True},
            "xAxis": {"type": "value", "name": self.unit},
            "yAxis": {"type": "category", "data": list(self.categories), "inverse": True},
            "series": series,
        }
        return json.dumps(option, ensure_ascii=False)

    def height_px(self) -> int:
        return 90 + max(1, len(self.categories)) * (len(self.series) * ROW_PX + 10)
