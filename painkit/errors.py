"""Typed exceptions raised by painkit.

Every error a user can cause is a :class:`PainkitError`, itself a :class:`ValueError`,
whose message names what was wrong and where. The CLI turns any of them into a one-line
message and exit code 2; Python callers can catch the specific subclass.
"""

from __future__ import annotations

__all__ = [
    "PainkitError",
    "EvidenceError",
    "InputError",
    "UnknownModalityError",
    "EmptyPlanError",
    "ValidationError",
    "StoreError",
    "ReportError",
]


class PainkitError(ValueError):
    """Base class of every error painkit raises for bad input or data."""


class EvidenceError(PainkitError):
    """An evidence table under ``data/evidence`` is missing or malformed."""


class InputError(PainkitError):
    """A single argument is out of range or of the wrong kind."""


class UnknownModalityError(InputError):
    """A plan names a treatment that the evidence base does not know.

    Attributes
    ----------
    name : str
        The name as given.
    suggestions : list of str
        The nearest known names, best first.
    known : list of str
        Every known arm id.
    """

    def __init__(self, name: str, suggestions: list[str], known: list[str], where: str = ""):
        self.name, self.suggestions, self.known = name, list(suggestions), list(known)
        hint = f" Did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}unknown treatment {name!r}.{hint} Known: {', '.join(known)}.")


class EmptyPlanError(InputError):
    """A plan with no treatment in it."""


class ValidationError(PainkitError):
    """Rows of a table break the data rules.

    Attributes
    ----------
    problems : pandas.DataFrame
        One row per problem with columns ``row``, ``patient_id``, ``date``, ``column``,
        ``value`` and ``reason`` (``row`` counts data lines from 1, as a spreadsheet
        shows them below the header, when the table came from a file).
    source : str or None
        The file the rows came from, if any.
    """

    def __init__(self, message: str, problems=None, source: str | None = None):
        self.problems, self.source = problems, source
        super().__init__(message)


class StoreError(PainkitError):
    """The patient store refused an operation (unknown patient, duplicate, bad schema)."""


class ReportError(PainkitError):
    """A report could not be made from its inputs."""
