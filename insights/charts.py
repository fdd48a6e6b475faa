"""The geometry of the insights page's charts, drawn by the templates as inline SVG (no script, no CDN).

Each chart is a `viewBox` the page scales to its width (so 390 px phones need no sideways scroll), its
marks each linking to the audit records they count, with a `<title>` for pointers and the chart's
table beside it for screen readers. Bars are computed here; templates only place them.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 360
PLOT_HEIGHT = 120
TOP = 8
BOTTOM = 18  # room for the axis labels under a column chart
ROW = 26  # one horizontal bar with its label above it
TICK_WIDTH = 36  # room an axis label ("28 Oct") takes


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str
    url: str
    label: str = ""  # text drawn with the mark (an axis tick or a bar's name)
    label_x: float = 0
    label_y: float = 0


@dataclass(frozen=True)
class Chart:
    height: float
    marks: list[Mark]
    summary: str  # the aria-label: what the chart shows, in one sentence
    width: int = WIDTH


def stacked_columns(columns: list[tuple[str, str, list[tuple[str, int, str]]]], summary: str) -> Chart:
    """One column per entry (tick label, title prefix, [(series, value, url)]), series stacked from the bottom."""
    tallest = max((sum(v for _, v, _ in stack) for _, _, stack in columns), default=0) or 1
    step = WIDTH / max(len(columns), 1)
    gap = min(2.0, step * 0.2)
    every = max(1, round(len(columns) / 8))  # at most ~8 tick labels: readable at 390 px
    marks: list[Mark] = []
    for i, (tick, prefix, stack) in enumerate(columns):
        x = i * step + gap / 2
        y = TOP + PLOT_HEIGHT
        for series, value, url in stack:
            if not value:
                continue
            height = PLOT_HEIGHT * value / tallest
            y -= height
            marks.append(Mark(x=round(x, 2), y=round(y, 2), width=round(step - gap, 2), height=round(height, 2),
                              css=f"series-{series}", title=f"{prefix}: {value} {series.replace('_', ' ')}", url=url))
        if i % every == 0 and x + TICK_WIDTH <= WIDTH:  # a label that would run off the right is left out
            marks.append(Mark(x=0, y=0, width=0, height=0, css="tick", title="", url="", label=tick,
                              label_x=round(x, 2), label_y=TOP + PLOT_HEIGHT + 13))
    return Chart(height=TOP + PLOT_HEIGHT + BOTTOM, marks=marks, summary=summary)


def bars(rows: list[tuple[str, int, str]], summary: str, css: str = "series-bar") -> Chart:
    """One horizontal bar per (label, value, url), the label and value above its bar."""
    largest = max((value for _, value, _ in rows), default=0) or 1
    marks = []
    for i, (label, value, url) in enumerate(rows):
        y = i * ROW
        width = max(1.0, WIDTH * value / largest)
        marks.append(Mark(x=0, y=y + 14, width=round(width, 2), height=9, css=css, title=f"{label}: {value}",
                          url=url, label=f"{_clip(label)} ({value})", label_x=0, label_y=y + 11))
    return Chart(height=max(ROW * len(rows), ROW), marks=marks, summary=summary)


def _clip(text: str, most: int = 48) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
