"""Options shared by the commands that read a cohort: ``--cohort FILE`` or ``--db PATH``.

A command that works on a cohort calls :func:`add_source_options` when it configures its
parser and :func:`load_source` when it runs::

    def _options(parser):
        add_source_options(parser)

    def my_command(args):
        patients, assessments = load_source(args)

``--cohort`` reads a CSV or Excel file in the documented long format (validated, see
:func:`painkit.exchange.read_cohort`); ``--db`` opens a painkit store; with neither, the
default store is used (``$PAINKIT_DB`` or ``data/painkit.db``).
"""

from __future__ import annotations

__all__ = ["add_source_options", "add_db_option", "load_source", "open_store"]


def add_db_option(parser) -> None:
    """Add ``--db PATH`` alone (for commands that only work on a store)."""
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the painkit store (SQLite file; default $PAINKIT_DB or data/painkit.db)",
    )


def add_source_options(parser) -> None:
    """Add the mutually exclusive ``--cohort FILE`` and ``--db PATH`` options."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--cohort",
        metavar="FILE",
        help="read the cohort from a CSV or Excel file in the painkit long format",
    )
    group.add_argument(
        "--db",
        metavar="PATH",
        help="read the cohort from a painkit store (default $PAINKIT_DB or data/painkit.db)",
    )


def open_store(args):
    """The :class:`painkit.store.Store` named by ``args.db`` (or the default store)."""
    from ..store import Store

    return Store(getattr(args, "db", None))


def load_source(args):
    """``(patients, assessments)`` from ``--cohort FILE``, ``--db PATH`` or the default store.

    Both tables follow the :mod:`painkit.schema` contract (declared columns and dtypes).

    Raises
    ------
    painkit.errors.PainkitError
        If the file is missing or invalid, or the store cannot be opened.
    """
    cohort = getattr(args, "cohort", None)
    if cohort:
        from ..exchange import read_cohort

        return read_cohort(cohort)
    return open_store(args).load_cohort()
