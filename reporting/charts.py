"""Charts drawn on the server as inline SVG: no script, no CDN, nothing to download.

Each chart carries a ``<title>`` and a ``<desc>`` (``role="img"``, labelled by both);
the pages put the same figures in a table next to it for screen readers and for
reading exact values. Right-to-left pages get mirrored charts: labels on the right,
bars growing leftwards. Numbers arrive already formatted for the page's locale.
"""

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
LABEL_WIDTH = 210
VALUE_ROOM = 90
ROW = 26
BAR = 18
PALETTE = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f", "#5d4037", "#455a64")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    display: str  # the value as the page shows it (locale-formatted)
    href: str = ""


@dataclass(frozen=True)
class Segment:
    label: str
    value: float
    display: str
    color: str


def _n(value: float) -> str:
    return f"{value:.1f}"


def _frame(chart_id, title, desc, height, rtl, body) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="tamkeen-chart" id="{id}" role="img" '
        'aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {w} {h}" width="100%" '
        'preserveAspectRatio="xMinYMin meet" direction="{direction}" font-family="sans-serif" font-size="13">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        id=chart_id, w=WIDTH, h=height, direction="rtl" if rtl else "ltr", title=title, desc=desc, body=body,
    )


def bar_chart(chart_id: str, title: str, desc: str, bars: list[Bar], *, rtl: bool = False) -> SafeString:
    """Horizontal bars, one per row, scaled to the largest value (zero bars drawn as a
    hairline so the row is still visible)."""
    height = max(ROW * len(bars) + 8, ROW)
    largest = max((bar.value for bar in bars), default=0) or 1
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    rows = []
    for index, bar in enumerate(bars):
        y = 4 + index * ROW
        length = max(room * float(bar.value) / float(largest), 1.5)
        if rtl:
            bar_x, label_x, value_x = WIDTH - LABEL_WIDTH - length, WIDTH - LABEL_WIDTH + 8, WIDTH - LABEL_WIDTH - length - 6
        else:
            bar_x, label_x, value_x = LABEL_WIDTH, LABEL_WIDTH - 8, LABEL_WIDTH + length + 6
        shape = format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"></rect>',
            _n(bar_x), y, _n(length), BAR, PALETTE[0],
        )
        if bar.href:
            shape = format_html('<a href="{}">{}</a>', bar.href, shape)
        rows.append(format_html(
            '<g class="tamkeen-chart__row">'
            '<text x="{lx}" y="{ty}" text-anchor="end" fill="#212121">{label}</text>{shape}'
            '<text x="{vx}" y="{ty}" text-anchor="start" fill="#212121">{display}</text></g>',
            lx=label_x, ty=y + BAR - 4, label=bar.label, shape=shape, vx=_n(value_x), display=bar.display,
        ))
    return _frame(chart_id, title, desc, height, rtl, mark_safe("".join(rows)))


def stacked_bar(chart_id: str, title: str, desc: str, segments: list[Segment], *, rtl: bool = False) -> SafeString:
    """One bar split into segments in order (from the start side), and a legend."""
    total = sum(float(s.value) for s in segments if s.value > 0) or 1
    parts, offset = [], 0.0
    for segment in segments:
        if segment.value <= 0:
            continue
        length = WIDTH * float(segment.value) / total
        x = WIDTH - offset - length if rtl else offset
        parts.append(format_html(
            '<rect x="{}" y="0" width="{}" height="32" fill="{}"></rect>', _n(x), _n(length), segment.color,
        ))
        offset += length
    if not parts:
        parts.append(format_html('<rect x="0" y="0" width="{}" height="32" fill="#e0e0e0"></rect>', WIDTH))
    legend = []
    for index, segment in enumerate(segments):
        y = 48 + index * ROW
        swatch_x, text_x = (WIDTH - 14, WIDTH - 22) if rtl else (0, 22)
        legend.append(format_html(
            '<rect x="{}" y="{}" width="14" height="14" fill="{}"></rect>'
            '<text x="{}" y="{}" text-anchor="start" fill="#212121">{} — {}</text>',
            swatch_x, y, segment.color, text_x, y + 12, segment.label, segment.display,
        ))
    height = 48 + ROW * len(segments)
    body = format_html_join("", "{}", ((p,) for p in parts + legend))
    return _frame(chart_id, title, desc, height, rtl, body)
