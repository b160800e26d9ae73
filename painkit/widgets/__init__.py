"""Interactive apps for Jupyter and Voila: the tracker and the evidence explorer.

Each app is a model (state as :class:`traitlets.HasTraits`, no widget code, every figure from
painkit's core) and a thin ipywidgets view:

* :class:`TrackerModel` / :class:`TrackerApp` (:func:`build_tracker`): the article's tracker
  and more (store, plan, instruments, alerts, schedule, report);
* :class:`ExplorerModel` / :class:`ExplorerApp` (:func:`build_explorer`): the evidence table,
  benefit ranges and plans compared side by side.

The models import no ipywidgets; the views are imported on first use.
"""

from .explorer_model import ExplorerModel
from .tracker_model import TrackerModel

__all__ = ["TrackerModel", "TrackerApp", "build_tracker", "ExplorerModel", "ExplorerApp", "build_explorer"]


def __getattr__(name):
    if name in ("TrackerApp", "build_tracker"):
        from . import tracker

        return getattr(tracker, name)
    if name in ("ExplorerApp", "build_explorer"):
        from . import explorer

        return getattr(explorer, name)
    raise AttributeError(name)
