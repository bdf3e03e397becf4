"""Small inline SVG charts for the report page: no matplotlib, no JavaScript.

Each function returns one ``<svg>`` element as text, every label escaped, and
puts the numbers it draws on its marks as ``data-*`` attributes so that a
test (or a person with the inspector) reads the figure's numbers, not pixels.
"""

from __future__ import annotations

import math
from html import escape

FONT = 12  # px; the page's small text
SERIES_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
OVER = "#d62728"  # a budget exceeded
WITHIN = "#2a7ab0"


def esc(value) -> str:
    """Text or an attribute value, escaped for HTML and SVG alike.

    >>> esc('T-shirt/top <"a">')
    'T-shirt/top &lt;&quot;a&quot;&gt;'
    """
    return escape(str(value), quote=True)


def number(value) -> str:
    """A number as a ``data-*`` attribute holds it: ints as is, floats as their shortest
    round-trip text (what ``json.dumps`` writes), None as empty.

    >>> number(3), number(0.1), number(None), number(True)
    ('3', '0.1', '', 'true')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _fmt(x: float) -> str:
    """Coordinates with at most two decimals.

    >>> _fmt(3.14159), _fmt(2.0)
    ('3.14', '2')
    """
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _svg(width: float, height: float, body: list[str], label: str, **data) -> str:
    attrs = "".join(f' data-{k.replace("_", "-")}="{esc(v)}"' for k, v in data.items())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{esc(label)}" '
            f'width="{_fmt(width)}" height="{_fmt(height)}" viewBox="0 0 {_fmt(width)} {_fmt(height)}" '
            f'font-family="system-ui, sans-serif" font-size="{FONT}"{attrs}>'
            f"<title>{esc(label)}</title>" + "".join(body) + "</svg>")


def _text(x, y, text, anchor="start", **extra) -> str:
    attrs = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in extra.items())
    return f'<text x="{_fmt(x)}" y="{_fmt(y)}" text-anchor="{anchor}"{attrs}>{esc(text)}</text>'


def budget_bars(rows: list[dict], width: int = 640) -> str:
    """Horizontal bars of what is used against a budget, one per row.

    ``rows``: ``{"key", "label", "used", "budget"}`` (bytes). The bar's full
    length is the budget; a row over budget is drawn red and runs to the
    right edge with its percentage.

    >>> '<g data-bar="flash" data-used="10" data-budget="40"' in budget_bars(
    ...     [{"key": "flash", "label": "flash", "used": 10, "budget": 40}])
    True
    """
    left, right, bar_h, gap = 170, 90, 22, 14
    track = width - left - right
    height = len(rows) * (bar_h + gap) + gap
    body = []
    for i, row in enumerate(rows):
        y = gap + i * (bar_h + gap)
        used, budget = row["used"], row["budget"]
        share = used / budget if budget else math.inf
        colour = OVER if share > 1 else WITHIN
        length = track * min(share, 1.0)
        body.append(f'<g data-bar="{esc(row["key"])}" data-used="{number(used)}" data-budget="{number(budget)}">'
                    + _text(left - 8, y + bar_h / 2 + 4, row["label"], "end")
                    + f'<rect x="{left}" y="{_fmt(y)}" width="{_fmt(track)}" height="{bar_h}" fill="#eef1f4" '
                      f'stroke="#b8c0c8"/>'
                    + f'<rect x="{left}" y="{_fmt(y)}" width="{_fmt(max(length, 1))}" height="{bar_h}" '
                      f'fill="{colour}"/>'
                    + _text(left + track + 6, y + bar_h / 2 + 4,
                            f"{100 * share:.1f}%" if math.isfinite(share) else "no budget", fill=colour)
                    + "</g>")
    return _svg(width, height, body, "memory used against the board's budget")


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values from ``lo`` to ``hi``.

    >>> _ticks(0, 100)
    [0, 20, 40, 60, 80, 100]
    """
    span = hi - lo or 1.0
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if step * m >= raw:
            step *= m
            break
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + 1e-9 * span:
        value = k * step
        ticks.append(int(round(value)) if float(value).is_integer() or step >= 1 else round(value, 10))
        k += 1
    return ticks


def training_curves(epochs: list[int], series: list[dict], v: list[float], marked: int | None,
                    width: int = 720, height: int = 360) -> str:
    """Accuracy curves (left axis, %) and the sharpness v (right axis, log scale) per epoch.

    ``series``: ``{"key", "label", "values"}`` with accuracies in [0, 1] (None
    where an epoch has none). ``marked``: the exported epoch, drawn as a
    vertical line. Every point carries ``data-series``, ``data-epoch`` and
    ``data-value`` (the accuracy as recorded, or v).
    """
    left, right, top, bottom = 56, 64, 16, 78
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [x for s in series for x in s["values"] if x is not None]
    lo = max(0.0, math.floor(100 * min(values, default=0.0) / 10) * 10)
    hi = 100.0
    if hi - lo < 10:
        lo = max(0.0, hi - 10)
    first, last = min(epochs), max(epochs)
    xspan = (last - first) or 1

    def x_of(epoch):
        if first == last:
            return left + plot_w / 2
        return left + plot_w * (epoch - first) / xspan

    def y_of(acc):
        return top + plot_h * (1 - (100 * acc - lo) / (hi - lo))

    v_pos = [x for x in v if x and x > 0]
    vlo = math.floor(math.log10(min(v_pos))) if v_pos else 0
    vhi = math.ceil(math.log10(max(v_pos))) if v_pos else 1
    if vhi == vlo:
        vhi += 1

    def yv_of(value):
        return top + plot_h * (1 - (math.log10(value) - vlo) / (vhi - vlo))

    body = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#b8c0c8"/>']
    for t in _ticks(lo, hi):
        y = y_of(t / 100)
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{_fmt(y)}" y2="{_fmt(y)}" stroke="#e3e7eb"/>')
        body.append(_text(left - 6, y + 4, f"{t:g}%", "end"))
    for t in _ticks(first, last, min(10, max(1, last - first))):
        if float(t).is_integer() and first <= t <= last:
            x = x_of(t)
            body.append(f'<line x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
                        'stroke="#555"/>')
            body.append(_text(x, top + plot_h + 17, f"{int(t)}", "middle"))
    for p in range(vlo, vhi + 1):
        y = yv_of(10 ** p)
        body.append(f'<line x1="{left + plot_w}" x2="{left + plot_w + 4}" y1="{_fmt(y)}" y2="{_fmt(y)}" '
                    'stroke="#555"/>')
        body.append(_text(left + plot_w + 7, y + 4, f"{10 ** p:g}"))
    body.append(_text(left + plot_w / 2, top + plot_h + 34, "epoch", "middle"))
    body.append(_text(14, top + plot_h / 2, "accuracy (test unless marked)", "middle",
                      transform=f"rotate(-90 14 {_fmt(top + plot_h / 2)})"))
    body.append(_text(width - 8, top + plot_h / 2, "v (log scale)", "middle",
                      transform=f"rotate(90 {width - 8} {_fmt(top + plot_h / 2)})"))
    if marked is not None and first <= marked <= last:
        x = x_of(marked)
        body.append(f'<g data-exported-epoch="{marked}"><line x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{top}" '
                    f'y2="{top + plot_h}" stroke="#888" stroke-width="1.5" stroke-dasharray="6 3 2 3"/>'
                    + (_text(x - 5, top + plot_h - 8, f"exported: epoch {marked}", "end", fill="#555")
                       if x - left > 140 else
                       _text(x + 5, top + plot_h - 8, f"exported: epoch {marked}", fill="#555"))
                    + "</g>")
    legend = []
    dashes = ("", "", "5 3")
    for i, s in enumerate(series):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        points = [(e, a) for e, a in zip(epochs, s["values"]) if a is not None]
        path = " ".join(f"{_fmt(x_of(e))},{_fmt(y_of(a))}" for e, a in points)
        dash = f' stroke-dasharray="{dashes[i % 3]}"' if dashes[i % 3] else ""
        marks = "".join(f'<circle cx="{_fmt(x_of(e))}" cy="{_fmt(y_of(a))}" r="3" fill="{colour}" '
                        f'data-series="{esc(s["key"])}" data-epoch="{e}" data-value="{number(a)}"/>'
                        for e, a in points)
        body.append(f'<g data-curve="{esc(s["key"])}"><polyline points="{path}" fill="none" stroke="{colour}" '
                    f'stroke-width="2"{dash}/>{marks}</g>')
        legend.append((s["label"], colour, dashes[i % 3]))
    if v_pos:
        points = [(e, value) for e, value in zip(epochs, v) if value and value > 0]
        path = " ".join(f"{_fmt(x_of(e))},{_fmt(yv_of(value))}" for e, value in points)
        marks = "".join(f'<rect x="{_fmt(x_of(e) - 2.5)}" y="{_fmt(yv_of(value) - 2.5)}" width="5" height="5" '
                        f'fill="#444" data-series="v" data-epoch="{e}" data-value="{number(value)}"/>'
                        for e, value in points)
        body.append(f'<g data-curve="v"><polyline points="{path}" fill="none" stroke="#444" stroke-width="1.5" '
                    f'stroke-dasharray="2 3" opacity="0.8"/>{marks}</g>')
        legend.append(("sharpness v (right axis)", "#444", "2 3"))
    x, y = left, height - 18
    for label, colour, dash in legend:
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<line x1="{x}" x2="{x + 22}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" '
                    f'stroke-width="2"{dash_attr}/>')
        body.append(_text(x + 27, y, label))
        x += 40 + int(6.6 * len(label))
    return _svg(width, height, body, "training curves: accuracy and v per epoch")


def _blend(share: float) -> str:
    """White to deep blue: a cell's share of its row.

    >>> _blend(0.0), _blend(1.0)
    ('#ffffff', '#08306b')
    """
    share = min(max(share, 0.0), 1.0)
    r, g, b = (round(255 + (t - 255) * share) for t in (0x08, 0x30, 0x6B))
    return f"#{r:02x}{g:02x}{b:02x}"


def confusion_heatmap(matrix: list[list[int]], names: list[str], cell: int = 44) -> str:
    """The confusion matrix as a heat map: rows the true class, columns the class the C predicted.

    A cell's colour is its share of the row (the true class's examples); it
    holds the count, and carries ``data-row``, ``data-col`` and ``data-count``.
    """
    k = len(matrix)
    label_w = 12 + int(7 * max((len(n) for n in names), default=1))
    left, top = label_w + 24, label_w + 24
    width, height = left + k * cell + label_w // 2 + 10, top + k * cell + 10
    body = [_text(left + k * cell / 2, 14, "class the C predicted", "middle", font_weight="600"),
            _text(14, top + k * cell / 2, "true class", "middle", font_weight="600",
                  transform=f"rotate(-90 14 {_fmt(top + k * cell / 2)})")]
    for j, name in enumerate(names):
        x = left + j * cell + cell / 2
        body.append(_text(x + 4, top - 6, name, "start", transform=f"rotate(-60 {_fmt(x + 4)} {top - 6})"))
    for i, row in enumerate(matrix):
        total = sum(row)
        y = top + i * cell
        body.append(_text(left - 6, y + cell / 2 + 4, names[i] if i < len(names) else str(i), "end"))
        for j, count in enumerate(row):
            share = count / total if total else 0.0
            x = left + j * cell
            fill = _blend(share)
            ink = "#fff" if share > 0.5 else "#1a1a1a"
            diagonal = ' stroke="#2ca02c" stroke-width="2"' if i == j else ' stroke="#d0d5da"'
            body.append(f'<g data-row="{i}" data-col="{j}" data-count="{count}">'
                        f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}"{diagonal}/>'
                        + (_text(x + cell / 2, y + cell / 2 + 4, f"{count:,}", "middle", fill=ink) if count else "")
                        + "</g>")
    return _svg(width, height, body, "confusion matrix: true class by the class the C predicted")


def layer_bars(cores: list[dict], width: int = 720) -> str:
    """Instructions per layer, a group of bars per layer with one bar per core.

    ``cores``: ``{"core", "layers": [{"layer", "title", "instructions"}]}``,
    the rows of :func:`sbn_mcu.bench.bench` that fit. Each bar carries
    ``data-core``, ``data-layer`` and ``data-instructions``.
    """
    if not cores:
        return ""
    layers = cores[0]["layers"]
    largest = max((layer["instructions"] for c in cores for layer in c["layers"]), default=1) or 1
    left, right, bar_h, gap = 220, 110, 14, 12
    track = width - left - right
    group_h = len(cores) * bar_h + gap
    legend_h = 26
    height = legend_h + len(layers) * group_h + gap
    body = []
    for ci, c in enumerate(cores):
        x = left + ci * 130
        colour = SERIES_COLOURS[ci % len(SERIES_COLOURS)]
        body.append(f'<rect x="{x}" y="6" width="14" height="12" fill="{colour}"/>' + _text(x + 19, 16, c["core"]))
    for li, layer in enumerate(layers):
        y0 = legend_h + li * group_h
        body.append(_text(left - 8, y0 + len(cores) * bar_h / 2 + 4,
                          f"{layer['layer']} {layer['title']}"[:32], "end"))
        for ci, c in enumerate(cores):
            count = c["layers"][li]["instructions"]
            y = y0 + ci * bar_h
            colour = SERIES_COLOURS[ci % len(SERIES_COLOURS)]
            body.append(f'<g data-core="{esc(c["core"])}" data-layer="{esc(layer["layer"])}" '
                        f'data-instructions="{count}">'
                        f'<rect x="{left}" y="{y}" width="{_fmt(max(1, track * count / largest))}" '
                        f'height="{bar_h - 2}" fill="{colour}"/>'
                        + _text(left + track * count / largest + 5, y + bar_h - 4, f"{count:,}", font_size=11)
                        + "</g>")
    return _svg(width, height, body, "instructions per layer and core")
