"""A matplotlib chart shown as a PNG in an ``ipywidgets.Image``, redrawn lazily.

Drawing a seaborn chart and encoding it as PNG takes one to three hundred milliseconds on a
small machine, too slow to sit in the path of every slider move. A :class:`LazyChart` owns one
:class:`matplotlib.figure.Figure` (reused, never registered with pyplot) and, when its inputs
change, marks itself stale:

* inside a running kernel (an asyncio loop is running) it schedules one redraw shortly after
  the change, so several quick changes cost one redraw and the controls' text outputs update
  at once;
* otherwise (scripts, tests) it redraws at once, unless ``deferred=True`` was asked for, in
  which case :meth:`flush` draws (the benchmark uses this to time the two parts apart).

Most changes move only a band or a line (the baseline slider, the plan, the rule). A chart given
``update`` and ``key`` keeps the picture of everything else (axes, ticks, labels, title: the
text, whose rasterising is most of a redraw) and, while ``key()`` is unchanged, calls
``update(ax)`` to move its artists and draws only the artists whose ``gid`` starts with
:data:`painkit.plots.DYNAMIC` (in z-order) over that picture: blitting, as matplotlib's
animations do. Any other change redraws everything with ``draw``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..plots import DYNAMIC
from ._gc import collect_idle

__all__ = ["LazyChart", "CSS"]

#: Table styling shared by the apps (scoped to their root classes).
CSS = ("<style>.painkit-tracker table, .painkit-explorer table {border-collapse:collapse;font-size:0.9em}"
       " .painkit-tracker td, .painkit-tracker th, .painkit-explorer td, .painkit-explorer th"
       " {padding:2px 8px;text-align:left;border-bottom:1px solid #ddd}"
       " .painkit-tracker td:first-child, .painkit-explorer td:first-child {white-space:nowrap}</style>")


class LazyChart:
    """One reusable figure rendered into an Image widget.

    Parameters
    ----------
    draw : callable
        ``draw(ax)`` draws the chart on a cleared axes; it may return a short caption.
    size : (float, float)
        Figure size in inches.
    dpi : int
        Resolution of the PNG.
    deferred : bool, optional
        Force deferred (True) or immediate (False) drawing; default: deferred when an asyncio
        loop is running (a Jupyter kernel).
    delay : float
        Seconds to wait before a deferred redraw (coalesces quick changes).
    update : callable, optional
        ``update(ax)`` moves the dynamic artists of the chart ``draw`` made to the current state
        and returns the caption, or None when it cannot (then ``draw`` runs).
    key : callable, optional
        ``key()`` is a hashable of everything the picture depends on that ``update`` does not
        move; ``update`` is used only while it stays equal.
    """

    def __init__(self, draw, *, size=(7.5, 3.8), dpi=80, deferred=None, delay=0.03,
                 margins=dict(left=0.08, right=0.98, top=0.9, bottom=0.2), description="chart", update=None,
                 key=None):
        self.draw_function = draw
        self.update_function = update
        self.key_function = key
        self.dpi = dpi
        self.delay = delay
        self.deferred = deferred
        self.figure = Figure(figsize=size, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(**margins)
        self.ax = self.figure.add_subplot()
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width=f"{int(size[0] * dpi)}px"))
        self.image.add_class("painkit-chart")
        self.caption = widgets.HTML()
        self.caption.add_class("painkit-chart-caption")
        self.widget = widgets.VBox([self.image, self.caption])
        self.description = description
        self.stale = False
        self.renders = 0
        self.blits = 0  # renders that moved only the dynamic artists
        self._background = None  # (key, saved picture without the dynamic artists)
        self._handle = None
        self._held = 0

    @contextlib.contextmanager
    def hold(self):
        """Collect the invalidations of a block into one redraw at its end."""
        self._held += 1
        try:
            yield self
        finally:
            self._held -= 1
            if not self._held and self.stale:
                self.invalidate()

    def _loop(self):
        if self.deferred is False:
            return None
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    def invalidate(self) -> None:
        """Mark the chart stale and redraw now or soon (see the module docstring)."""
        self.stale = True
        if self._held:
            return
        loop = self._loop()
        if loop is not None:
            if self._handle is None:
                self._handle = loop.call_later(self.delay, self.flush)
        elif not self.deferred:
            self.flush()

    def flush(self) -> None:
        """Redraw now if stale."""
        self._handle = None
        if not self.stale:
            return
        self.stale = False
        key = self.key_function() if self.key_function is not None else None
        caption = None
        if self._background is not None and key is not None and self._background[0] == key:
            caption = self.update_function(self.ax)
        full = caption is None
        if not full:
            self.canvas.restore_region(self._background[1])
            for artist in self._dynamic():
                self.ax.draw_artist(artist)
            self.blits += 1
        else:
            caption = self._draw_all(key)
        self.image.value = self._png()
        self.renders += 1
        self.caption.value = f"<small>{caption}</small>" if caption else ""
        self.image.description = self.description
        if full and (self.deferred or self._loop() is not None):
            # a full redraw left the old artists as garbage in reference cycles, and it runs
            # after the outputs are shown: an idle moment to collect them
            collect_idle()

    def _dynamic(self) -> list:
        children = [a for a in self.ax.get_children() if str(a.get_gid() or "").startswith(DYNAMIC)]
        return sorted(children, key=lambda a: a.get_zorder())

    def _draw_all(self, key) -> str | None:
        self.ax.clear()
        for extra in self.figure.axes[1:]:
            extra.remove()
        caption = self.draw_function(self.ax)
        dynamic = self._dynamic() if self.update_function is not None and key is not None else []
        if not dynamic:
            self._background = None
            self.canvas.draw()
            return caption
        for artist in dynamic:  # the picture without them, kept for the next updates
            artist.set_animated(True)
        self.canvas.draw()
        self._background = (key, self.canvas.copy_from_bbox(self.figure.bbox))
        for artist in dynamic:
            self.ax.draw_artist(artist)
        return caption

    def _png(self) -> bytes:
        from PIL import Image

        width, height = self.canvas.get_width_height()
        buffer = io.BytesIO()
        Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(
            buffer, format="png", compress_level=3)  # ~40% faster than the default 6, ~3% larger
        return buffer.getvalue()
