"""Trait types shared by the app models."""

from __future__ import annotations

import pandas as pd
import traitlets as t

__all__ = ["Frame"]


class Frame(t.Instance):
    """A :class:`pandas.DataFrame` trait that notifies whenever a different object is set.

    traitlets decides whether to notify with ``old == new``; on two DataFrames of the same
    shape that compares every cell (then fails to make a bool of the result), milliseconds of
    work per assignment for nothing. Models here always set a new table when it changed, so
    identity is the test.

    Examples
    --------
    >>> import traitlets as t
    >>> class M(t.HasTraits):
    ...     table = Frame(help="some table")
    >>> m, seen = M(), []
    >>> m.observe(lambda change: seen.append(len(change["new"])), "table")
    >>> m.table = pd.DataFrame({"a": [1, 2]})
    >>> m.table = m.table        # the same object: no notification
    >>> seen
    [2]
    """

    def __init__(self, **kwargs):
        super().__init__(pd.DataFrame, args=(), **kwargs)

    def set(self, obj, value) -> None:
        new = self._validate(obj, value)
        old = obj._trait_values.get(self.name)
        obj._trait_values[self.name] = new
        if new is not old:
            obj._notify_trait(self.name, old, new)
