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
"""

from __future__ import annotations

import asyncio
import contextlib
import io

import ipywidgets as widgets
from matplotlib.figure import Figure

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
    """

    def __init__(self, draw, *, size=(7.5, 3.8), dpi=80, deferred=None, delay=0.05,
                 margins=dict(left=0.08, right=0.98, top=0.9, bottom=0.2), description="chart"):
        self.draw_function = draw
        self.dpi = dpi
        self.delay = delay
        self.deferred = deferred
        self.figure = Figure(figsize=size)
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
        self.ax.clear()
        for extra in self.figure.axes[1:]:
            extra.remove()
        caption = self.draw_function(self.ax)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=self.dpi)
        self.image.value = buffer.getvalue()
        self.renders += 1
        self.caption.value = f"<small>{caption}</small>" if caption else ""
        self.image.description = self.description
