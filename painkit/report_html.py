"""HTML building blocks of the reports: escaped fragments, tables, inline figures, whole pages.

Everything the reports show as HTML goes through these helpers: :class:`Fragment` (a piece of
HTML that Jupyter displays as HTML), :func:`table_html` (every header and cell escaped),
:func:`figure_html` (a figure as an inline PNG), :func:`page` (a self-contained page without
scripts) and :func:`safe_slug` (a file-name-safe name for a patient id). Values from the data are
always escaped with :func:`html.escape`; nothing the data holds is ever inserted as markup.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re

import numpy as np
import pandas as pd

from . import DISCLAIMER

__all__ = ["Fragment", "safe_slug", "table_html", "new_axes", "figure_html", "page"]

_STYLE = """<style>
.pk h1{font-size:1.5em;margin:.2em 0}.pk h2{font-size:1.2em;margin:1em 0 .3em;border-bottom:1px solid #ccc}
.pk .disclaimer{background:#fff8e1;border-left:4px solid #f9a825;padding:.4em .8em;margin:.5em 0}
.pk .alert{padding:.35em .8em;margin:.25em 0;border-left:5px solid #999}
.pk .alert.urgent{background:#fdecea;border-color:#c62828;font-weight:bold}
.pk .alert.discuss{background:#fff3e0;border-color:#ef6c00}.pk .alert.review{background:#e3f2fd;border-color:#1565c0}
.pk .alert.advice{background:#f1f8e9;border-color:#558b2f}.pk .reason{font-weight:normal;color:#444;font-size:.9em}
.pk table{border-collapse:collapse;margin:.3em 0}.pk td,.pk th{border:1px solid #ddd;padding:.2em .5em;text-align:left}
.pk .muted{color:#666;font-size:.9em}.pk img{max-width:100%}
</style>"""


class Fragment(str):
    """A piece of escaped HTML that Jupyter displays as HTML (and tests read as a string)."""

    def _repr_html_(self):
        return str(self)

    def _repr_pretty_(self, printer, cycle):  # the plain-text alternative stays short
        printer.text(f"<painkit report section, {len(self)} characters of HTML>")


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def _esc(value, missing: str = "&ndash;") -> str:
    """One value as escaped text: ``missing`` for a missing value, dates as YYYY-MM-DD, decimals
    to three significant digits."""
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return missing
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, (float, np.floating)):
        return _number(float(value))
    return html.escape(str(value), quote=True)


def safe_slug(patient_id: str) -> str:
    """A file-name-safe, unique name for a patient id: a short slug plus a short hash.

    Only ASCII letters, digits, ``-`` and ``_`` survive; the hash of the full id keeps two ids
    that slug alike apart, so ``../x`` can never leave the output folder.

    Examples
    --------
    >>> safe_slug("P001")
    'P001-...'
    >>> "/" in safe_slug("../../etc/passwd") or ".." in safe_slug("../../etc/passwd")
    False
    >>> safe_slug("a/b") != safe_slug("a_b")
    True
    """
    text = str(patient_id)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-")[:40] or "patient"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}"


def _column(values: pd.Series, missing: str, decimals: int | None) -> list[str]:
    """A column's cells as :func:`_esc` gives them, a whole column at a time where it can."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return [missing if text == "NaT" else text
                for text in np.datetime_as_string(values.to_numpy(dtype="datetime64[D]")).tolist()]
    if pd.api.types.is_float_dtype(values.dtype):
        number = _number if decimals is None else f"{{:.{decimals}f}}".format
        return [missing if v != v else number(v) for v in values.to_numpy(dtype=float, na_value=np.nan).tolist()]
    return [_esc(v, missing) for v in values.to_numpy(dtype=object).tolist()]


def table_html(data: pd.DataFrame, *, empty: str = "None recorded.", classes: str | None = None,
               missing: str = "&ndash;", decimals: int | None = None) -> str:
    """An HTML table of ``data`` (no index), every header and cell escaped; ``empty`` when no rows.

    ``classes`` go on the table (and on the ``empty`` paragraph), ``missing`` stands for a
    missing value and ``decimals`` fixes the places of decimal columns (default: three
    significant digits).

    Examples
    --------
    >>> table_html(pd.DataFrame({"a<": ["<i>x</i>", None], "b": [1.23456, float("nan")]}))
    '<table><thead><tr><th>a&lt;</th><th>b</th></tr></thead><tbody><tr><td>&lt;i&gt;x&lt;/i&gt;</td><td>1.23</td></tr><tr><td>&ndash;</td><td>&ndash;</td></tr></tbody></table>'
    >>> table_html(pd.DataFrame({"b": [1.26, None]}), classes="t", missing="", decimals=1)
    '<table class="t"><thead><tr><th>b</th></tr></thead><tbody><tr><td>1.3</td></tr><tr><td></td></tr></tbody></table>'
    """
    css = f" {html.escape(classes, quote=True)}" if classes else ""
    if data is None or not len(data):
        return f'<p class="muted{css}">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in data.columns)
    columns = [_column(data[c], missing, decimals) for c in data.columns]
    body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in zip(*columns))
    table = f'<table class="{css[1:]}">' if css else "<table>"
    return f"{table}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def new_axes(size=(7.0, 3.6), *, margins=None):
    """Axes on a stand-alone figure (no pyplot: nothing global to leak or to close).

    ``margins`` (left, bottom, right, top as figure fractions) fixes the layout, which is much
    faster to draw than the default constrained layout.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout=None if margins else "constrained")
    if margins:
        left, bottom, right, top = margins
        fig.subplots_adjust(left=left, bottom=bottom, right=right, top=top)
    return fig.add_subplot()


def figure_html(fig, *, alt: str) -> str:
    """A matplotlib figure as an inline PNG ``<img>``; a pyplot figure is closed afterwards."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    if plt.fignum_exists(getattr(fig, "number", -1)):
        plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"/>'


def page(title: str, fragments) -> str:
    """A complete, self-contained HTML page around report fragments (no scripts)."""
    body = "\n".join(str(f) for f in fragments)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>{_STYLE}</head>\n<body>\n{body}\n</body></html>\n"
    )


def _header(title: str, rows: list[tuple[str, object]]) -> Fragment:
    items = "".join(f"<tr><th>{html.escape(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    return Fragment(
        f'<div class="pk">{_STYLE}<h1>{html.escape(title)}</h1><table>{items}</table>'
        f'<p class="disclaimer">{html.escape(DISCLAIMER)}</p></div>'
    )


def _section(title: str, body: str, note: str | None = None) -> Fragment:
    extra = f'<p class="muted">{html.escape(note)}</p>' if note else ""
    return Fragment(f'<div class="pk"><h2>{html.escape(title)}</h2>{body}{extra}</div>')


def _alert_list(table: pd.DataFrame, empty: str) -> str:
    if not len(table):
        return f'<p class="muted">{html.escape(empty)}</p>'
    items = []
    for row in table.itertuples(index=False):
        level = str(row.level)
        items.append(
            f'<div class="alert {html.escape(level)}">{html.escape(level.upper())}: {_esc(row.message)}'
            f'<br><span class="reason">Why: {_esc(row.reason)} ({_esc(row.date)})</span></div>'
        )
    return "".join(items)


def _plain(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.1f}".rstrip("0").rstrip(".")
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)
