"""The dashboard's chart of the last twelve months, drawn on the server as SVG (no JavaScript):
per month, bars for the tickets opened, those answered on time and the penalties. Only the
geometry is computed here; the template writes the SVG, so every text is escaped there."""

from __future__ import annotations

from dataclasses import dataclass

from .selectors import Month

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 12, 28  # margins: the axis labels live there
SERIES = ("tickets_opened", "tickets_on_time", "penalties")
BAR_GAP = 2


@dataclass(frozen=True)
class Bar:
    series: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Group:
    month: Month
    label_x: float
    bars: list[Bar]


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    baseline: float
    groups: list[Group]
    ticks: list[Tick]


def _nice_max(value: int) -> int:
    """The top of the scale: 4 at least, else the next multiple of 4 (four even gridlines)."""
    return max(4, -(-value // 4) * 4)


def build_chart(months: list[Month]) -> Chart:
    """Where each bar goes, in the SVG's own units."""
    top = _nice_max(max((getattr(m, s) for m in months for s in SERIES), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_h
    slot = plot_w / max(len(months), 1)
    bar_w = (slot * 0.8 - BAR_GAP * (len(SERIES) - 1)) / len(SERIES)
    groups = []
    for i, month in enumerate(months):
        x0 = LEFT + i * slot + slot * 0.1
        bars = []
        for j, series in enumerate(SERIES):
            value = getattr(month, series)
            h = plot_h * value / top
            x = x0 + j * (bar_w + BAR_GAP)
            bars.append(Bar(series, value, round(x, 1), round(baseline - h, 1), round(bar_w, 1),
                            round(h, 1)))  # fmt: skip
        groups.append(Group(month, round(LEFT + i * slot + slot / 2, 1), bars))
    ticks = [Tick(top * k // 4, round(baseline - plot_h * k / 4, 1)) for k in range(5)]
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, baseline, groups, ticks)
