"""Digest charts as PNG bytes: one bar chart per choice item, diverging bars for scales, the funnel.

Why it looks like this:
- matplotlib's object API with the Agg canvas set explicitly on every figure
  (`FigureCanvasAgg`); pyplot is never imported, so there is no GUI backend, no global
  figure registry to leak into, and nothing to close: a figure is garbage once its PNG
  is written into memory.
- One style (`STYLE`) for every chart, applied with `rc_context`, so charts look alike
  and nothing touches the process-wide rcParams.
- Horizontal bars, labels wrapped and then cut with an ellipsis: French choice labels are
  long, and a horizontal bar has room for two lines of text where a vertical one has none.
- Every chart carries a title and an alt text sentence that states its numbers, in the
  reader's language, for screen readers (Slack `alt_txt`, Telegram captions).
- PNG metadata is emptied so the same numbers give the same bytes.

The drawing functions (`bar_png`, `diverging_png`, `funnel_png`) take plain lists, so a
chart can be drawn from anything; `charts_for` wires them to a digest.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.colors
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from matplotlib.typing import RcKeyType

from analytics.model import ChoiceSummary, Digest, ScaleSummary
from analytics.wording import Words, cap
from analytics.wording_items import scale_point
from conversations.questionnaire import Questionnaire

__all__ = [
    "STYLE",
    "Chart",
    "bar_png",
    "charts_for",
    "choice_chart",
    "diverging_png",
    "funnel_chart",
    "funnel_png",
    "scale_chart",
    "wrap_label",
]

STYLE: dict[RcKeyType, Any] = {
    "text.parse_math": False,  # "$5 to $10" in a label is money, not TeX
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.spines.left": False,
    "axes.edgecolor": "#888888",
    "xtick.color": "#444444",
    "ytick.color": "#222222",
    "ytick.major.size": 0,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}
"""The one look every chart shares (applied per chart, never globally)."""

ACCENT = "#2f6f9f"
MUTED = "#b9c7d3"
DPI = 100
WIDTH = 7.5
"""Inches; 750 px at DPI, legible inline in Slack and Telegram without zooming."""
LABEL_WIDTH = 30
LABEL_LINES = 2
TITLE_WIDTH = 80
TOP = 0.8
"""Inches above the bars: room for a title on two lines."""
LEFT = 0.31
"""Share of the width kept for labels: two lines of `LABEL_WIDTH` characters fit."""


@dataclass(frozen=True)
class Chart:
    """A chart ready to post: the image, a title, and the sentence a screen reader says."""

    key: str
    """Stable name: "item-<item id>", "scale-<n>", "funnel"; also the upload's file name."""
    title: str
    alt_text: str
    """Plain text (labels as typed): escape it when sending it with a parse mode."""
    png: bytes

    @property
    def filename(self) -> str:
        return f"{self.key}.png"


def wrap_label(text: str, width: int = LABEL_WIDTH, lines: int = LABEL_LINES) -> str:
    """`text` on at most `lines` lines of `width` characters, cut with "…" when longer."""
    wrapped = textwrap.wrap(" ".join(text.split()), width=width, break_long_words=True)
    if len(wrapped) <= lines:
        return "\n".join(wrapped)
    kept = wrapped[:lines]
    kept[-1] = kept[-1][: width - 1].rstrip() + "…"
    return "\n".join(kept)


def bar_png(
    title: str, labels: Sequence[str], values: Sequence[float], notes: Sequence[str]
) -> bytes:
    """Horizontal bars, first label on top, each annotated with its note ("5 · 50%")."""
    with _figure(len(labels)) as (figure, axes):
        positions = list(range(len(labels)))[::-1]
        axes.barh(positions, values, color=ACCENT, height=0.6)
        _bar_labels(axes, positions, values, notes)
        _finish(figure, axes, title, positions, labels)
        return _png(figure)


def funnel_png(
    title: str, stages: Sequence[str], counts: Sequence[int], notes: Sequence[str]
) -> bytes:
    """Centred bars, widest first, so the narrowing reads as a funnel."""
    with _figure(len(stages)) as (figure, axes):
        widest = max([*counts, 1])
        positions = list(range(len(stages)))[::-1]
        lefts = [(widest - count) / 2 for count in counts]
        axes.barh(positions, counts, left=lefts, color=ACCENT, height=0.7)
        for position, count, note in zip(positions, counts, notes, strict=True):
            axes.text(
                widest / 2, position, note, ha="center", va="center", color=_ink(count, widest)
            )
        axes.set_xlim(0, widest)
        axes.set_xticks([])
        _finish(figure, axes, title, positions, stages)
        return _png(figure)


def diverging_png(
    title: str,
    rows: Sequence[str],
    distributions: Sequence[Sequence[float]],
    points: Sequence[str],
) -> bytes:
    """Diverging stacked bars: low points to the left of zero, high to the right, the
    middle point (odd scales) straddling it; shares of each row's respondents, in percent.
    """
    with _figure(len(rows), legend=True) as (figure, axes):
        positions = list(range(len(rows)))[::-1]
        colours = _diverging_colours(len(points))
        for position, shares in zip(positions, _percentages(distributions), strict=True):
            _diverging_row(axes, position, shares, colours)
        axes.axvline(0, color="#444444", linewidth=0.8)
        axes.set_xlim(-100, 100)
        axes.set_xticks([-100, -50, 0, 50, 100], labels=["100%", "50%", "0", "50%", "100%"])
        handles = [Patch(color=c) for c in colours]
        figure.legend(
            handles,
            [wrap_label(p, 18, 2) for p in points],
            ncols=min(len(points), 6),
            loc="lower center",
            bbox_to_anchor=(0.5, 0.01),
            frameon=False,
            fontsize=8,
        )
        _finish(figure, axes, title, positions, rows)
        return _png(figure)


# --- drawing helpers ------------------------------------------------------------------


@contextmanager
def _figure(rows: int, *, legend: bool = False) -> Iterator[tuple[Figure, Axes]]:
    """A figure whose margins are fixed in inches (title above, ticks and legend below,
    wrapped labels on the left): no "tight" bounding box, which would draw it twice.
    """
    below = 0.4 + (0.8 if legend else 0.0)
    height = TOP + below + 0.45 * max(rows, 1)
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, height), dpi=DPI)
        FigureCanvasAgg(figure)
        figure.subplots_adjust(left=LEFT, right=0.95, top=1 - TOP / height, bottom=below / height)
        yield figure, figure.add_subplot()
        figure.clear()


def _finish(
    figure: Figure, axes: Axes, title: str, positions: Sequence[int], labels: Sequence[str]
) -> None:
    axes.set_yticks(positions, labels=[wrap_label(label) for label in labels])
    axes.set_ylim(-0.6, len(positions) - 0.4)
    shown = wrap_label(title, TITLE_WIDTH, 2)
    figure.text(
        0.01,
        1 - 0.12 / figure.get_figheight(),
        shown,
        va="top",
        weight="bold",
        size=STYLE["axes.titlesize"],
    )


def _bar_labels(
    axes: Axes, positions: Sequence[int], values: Sequence[float], notes: Sequence[str]
) -> None:
    top = max([*values, 0]) or 1
    for position, value, note in zip(positions, values, notes, strict=True):
        axes.text(value + top * 0.01, position, note, va="center")
    axes.set_xlim(0, top * 1.25)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))


def _diverging_colours(count: int) -> list[str]:
    """Red below the middle, grey in it, blue above; darker towards the ends."""
    palette = matplotlib.colormaps["RdBu"]
    steps = [0.1 + 0.8 * i / max(count - 1, 1) for i in range(count)]
    colours = [matplotlib.colors.to_hex(palette(step)) for step in steps]
    if count % 2:
        colours[count // 2] = "#d9d9d9"
    return colours


def _percentages(distributions: Sequence[Sequence[float]]) -> list[list[float]]:
    out = []
    for counts in distributions:
        total = sum(counts)
        out.append([100 * c / total if total else 0.0 for c in counts])
    return out


def _diverging_row(
    axes: Axes, position: int, shares: Sequence[float], colours: Sequence[str]
) -> None:
    half = len(shares) // 2
    middle = shares[half] if len(shares) % 2 else 0.0
    left = -sum(shares[:half]) - middle / 2
    for share, colour in zip(shares, colours, strict=True):
        axes.barh(position, share, left=left, color=colour, height=0.6)
        left += share


def _ink(count: int, widest: int) -> str:
    """White text on a wide bar, dark text where the bar is too narrow to hold it."""
    return "white" if count >= widest * 0.35 else "#222222"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


# --- a digest's charts ------------------------------------------------------------------

MAX_SCALE_ROWS = 10
MAX_ALT_TEXT = 1000
"""Telegram captions hold 1,024 characters, Slack alt texts 2,000."""


def charts_for(digest: Digest, questionnaire: Questionnaire, language: str) -> list[Chart]:
    """The funnel, a bar chart per answered choice item, and a diverging chart per run of
    answered scale items sharing a section and a range; in questionnaire order.
    """
    words = Words(questionnaire, language, digest.k)
    charts = [funnel_chart(digest, words)] if digest.funnel else []
    if digest.is_empty:
        return charts
    answered = [s for s in digest.items if s.respondents > 0]
    scales = _scale_runs([s for s in answered if isinstance(s, ScaleSummary)], words)
    for summary in answered:
        if isinstance(summary, ChoiceSummary):
            charts.append(choice_chart(summary, words))
        elif isinstance(summary, ScaleSummary) and summary.item_id in scales:
            charts.append(scale_chart(scales[summary.item_id], len(charts), words))
    return charts


def choice_chart(summary: ChoiceSummary, words: Words) -> Chart:
    title = words.item(summary.item_id)
    labels = [words.choice(summary.item_id, c.choice_id) for c in summary.counts]
    counts = [c.count for c in summary.counts]
    notes = [f"{words.count(c.count)} · {words.share(c.share)}" for c in summary.counts]
    parts = "; ".join(
        words(
            "chart.bar_part",
            label=cap(label, 60),
            count=words.count(c.count),
            share=words.share(c.share),
        )
        for label, c in zip(labels, summary.counts, strict=True)
    )
    key = "chart.bar_alt_multi" if summary.kind == "multi_choice" else "chart.bar_alt"
    alt = words(key, title=title, respondents=words.count(summary.respondents), parts=parts)
    png = bar_png(title, labels, counts, notes)
    return Chart(f"item-{summary.item_id}", title, cap(alt, MAX_ALT_TEXT), png)


def scale_chart(run: Sequence[ScaleSummary], number: int, words: Words) -> Chart:
    first = run[0]
    section = words.section(words.section_of(first.item_id))
    title = words("chart.scales_title", section=section)
    rows = [words.item(s.item_id) for s in run]
    points = [scale_point(first, p.value, words) for p in first.distribution]
    png = diverging_png(title, rows, [[p.count for p in s.distribution] for s in run], points)
    parts = "; ".join(_scale_part(s, words) for s in run)
    key = "chart.diverging_alt" if len(run) > 1 else "chart.diverging_alt_one"
    alt = words(key, count=len(run), low=points[0], high=points[-1], parts=parts)
    return Chart(f"scales-{first.item_id}", title, cap(alt, MAX_ALT_TEXT), png)


def funnel_chart(digest: Digest, words: Words) -> Chart:
    title = words("chart.funnel_title")
    first = digest.funnel[0].count
    labels = [words.stage(stage) for stage in digest.funnel]
    counts = [stage.count for stage in digest.funnel]
    shares = [s.count / first if i and first else None for i, s in enumerate(digest.funnel)]
    notes = [
        words.count(count) if share is None else f"{words.count(count)} · {words.share(share)}"
        for count, share in zip(counts, shares, strict=True)
    ]
    parts = ", ".join(
        _funnel_part(label, count, share, words)
        for label, count, share in zip(labels, counts, shares, strict=True)
    )
    alt = words("chart.funnel_alt", parts=parts)
    return Chart("funnel", title, cap(alt, MAX_ALT_TEXT), funnel_png(title, labels, counts, notes))


def _funnel_part(stage: str, count: int, share: float | None, words: Words) -> str:
    if share is None:
        return words("chart.funnel_part", stage=stage, count=words.count(count))
    return words(
        "chart.funnel_part_share", stage=stage, count=words.count(count), share=words.share(share)
    )


def _scale_runs(scales: Sequence[ScaleSummary], words: Words) -> dict[str, list[ScaleSummary]]:
    """Scale items grouped by (section, range), at most `MAX_SCALE_ROWS` to a chart,
    keyed by the item that opens each chart.
    """
    runs: dict[tuple[str, int, int], list[list[ScaleSummary]]] = {}
    for summary in scales:
        section = words.section_of(summary.item_id)
        chunks = runs.setdefault((section, summary.scale_min, summary.scale_max), [[]])
        if len(chunks[-1]) == MAX_SCALE_ROWS:
            chunks.append([])
        chunks[-1].append(summary)
    return {run[0].item_id: run for chunks in runs.values() for run in chunks}


def _scale_part(summary: ScaleSummary, words: Words) -> str:
    """Shares below, at and above the middle of the scale, as the chart draws them."""
    middle = (summary.scale_min + summary.scale_max) / 2
    shares = {"low": 0.0, "middle": 0.0, "high": 0.0}
    for point in summary.distribution:
        side = "low" if point.value < middle else "high" if point.value > middle else "middle"
        shares[side] += point.count / summary.respondents if summary.respondents else 0.0
    return words(
        "chart.diverging_part",
        item=cap(words.item(summary.item_id), 80),
        respondents=words.count(summary.respondents),
        **{side: words.share(share) for side, share in shares.items()},
    )
