"""A bar chart of sales per month, drawn on the server as SVG like the dashboard's
(`jdpop/dashboard/chart.py`): only the geometry here; the template writes the SVG."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 12, 28


@dataclass(frozen=True)
class Bar:
    month: date
    value: Decimal
    x: float
    y: float
    width: float
    height: float
    label_x: float


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]


def _nice_max(value: Decimal) -> int:
    """The top of the scale: four gridlines of a round step (1, 2 or 5 × a power of ten)."""
    for exponent in range(16):
        for m in (1, 2, 5):
            step = m * 10**exponent
            if step * 4 >= value:
                return step * 4
    return int(value) + 1


def build_chart(months: list[tuple[date, Decimal]]) -> Chart:
    """Where each month's bar goes, in the SVG's own units."""
    top = _nice_max(max((v for _, v in months), default=Decimal(0)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_h
    slot = plot_w / max(len(months), 1)
    bars = []
    for i, (month, value) in enumerate(months):
        h = plot_h * float(value) / top
        bars.append(
            Bar(month, value, round(LEFT + i * slot + slot * 0.15, 1), round(baseline - h, 1),
                round(slot * 0.7, 1), round(h, 1), round(LEFT + i * slot + slot / 2, 1))
        )  # fmt: skip
    ticks = [Tick(top * k // 4, round(baseline - plot_h * k / 4, 1)) for k in range(5)]
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, baseline, bars, ticks)
