"""Keep the cycle collector's full passes short while an app runs.

CPython's cycle collector now and then runs a full pass over every object it tracks. Once
pandas, matplotlib, ipywidgets and painkit's tables are loaded that is ~190,000 objects and
~100 ms here (``bench/bench_widgets.py`` prints it): a pause at a random control change, as
long as the whole budget of a change. So the apps, once built, collect once and move every
object that exists then into the permanent generation (:func:`gc.freeze`), which full passes
skip; whatever is created afterwards is collected as before. An object frozen this way that
later becomes unreachable *inside a reference cycle* stays in memory (reference counting still
frees everything else) until the next build, which unfreezes, collects and freezes again: a
notebook cell re-run keeps at most the previous app (and its store connection) alive until the
one after.

What a session creates afterwards is collected at idle moments: after a chart's full redraw,
which runs once the outputs are shown and leaves the old artists as cyclic garbage
(:func:`collect_idle`, tens of ms with the start-up objects frozen), so that the automatic
passes, which run inside whatever allocates, rarely fall due during a control change.

Opt out with ``PAINKIT_GC_FREEZE=0`` in the environment or ``freeze_gc=False`` to
:func:`~painkit.widgets.build_tracker` / :func:`~painkit.widgets.build_explorer`.
"""

from __future__ import annotations

import gc
import os

__all__ = ["freeze_startup_objects", "collect_idle"]


def freeze_startup_objects(enabled: bool | None = None) -> bool:
    """Collect, then freeze every object that exists now out of full collections.

    Parameters
    ----------
    enabled : bool, optional
        Default: on unless ``$PAINKIT_GC_FREEZE`` is ``0``, ``false`` or ``no``.

    Returns
    -------
    bool
        Whether objects were frozen.

    Examples
    --------
    >>> import gc
    >>> freeze_startup_objects(enabled=True) and gc.get_freeze_count() > 0
    True
    >>> freeze_startup_objects(enabled=False)
    False
    """
    if enabled is None:
        enabled = os.environ.get("PAINKIT_GC_FREEZE", "1").strip().lower() not in ("0", "false", "no")
    if not enabled:
        return False
    # What an earlier build froze becomes collectable again (an app built before and since
    # dropped, e.g. a re-run cell, is freed here): at most one stale app is ever kept.
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return True


def collect_idle() -> bool:
    """A full collection now, at an idle moment; only once start-up objects are frozen (a pass
    then visits only what was created since: tens of ms instead of ~150). Returns whether it ran.

    Examples
    --------
    >>> import gc
    >>> collect_idle() == (gc.get_freeze_count() > 0)
    True
    """
    if not gc.get_freeze_count():
        return False
    gc.collect()
    return True
