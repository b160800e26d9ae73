"""The ``painkit`` command line: a thin layer over the painkit core.

Each command group lives in its own module of this package and registers itself through
:func:`command`; adding a command is one function and one line in ``COMMAND_MODULES``.

Errors a user can cause (:class:`~painkit.errors.PainkitError`) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys

from ..errors import PainkitError

__all__ = ["main", "command", "COMMAND_MODULES"]

#: Modules under painkit.cli that define commands, in the order ``--help`` lists them.
COMMAND_MODULES = ["estimate", "demo", "summary", "store", "report"]

_REGISTRY: list = []


def command(name: str, help: str):
    """Register ``func(args) -> int`` as a sub-command; ``func.configure(parser)`` adds options.

    Use as a decorator on a function that takes the parsed arguments; attach a
    ``configure`` function with ``@func.configure`` style assignment::

        @command("estimate", help="...")
        def estimate(args): ...
        def _options(parser): ...
        estimate.configure = _options
    """

    def wrap(func):
        _REGISTRY.append((name, help, func))
        return func

    return wrap


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, as argparse does, without the usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    for module in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{module}")
    parser = _Parser(
        prog="painkit",
        description="Track chronic-pain treatment against the evidence. Not medical advice.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"painkit {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    seen = set()
    for name, help_text, func in _REGISTRY:
        if name in seen:
            continue
        seen.add(name)
        sub = subs.add_parser(name, help=help_text, description=help_text)
        configure = getattr(func, "configure", None)
        if configure:
            configure(sub)
        sub.set_defaults(_func=func)
    return parser


def to_json(obj) -> str:
    """JSON with NaN written as null."""

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):
            return clean(value.item())
        return value

    return json.dumps(clean(obj), indent=2, default=str)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failure, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_func", None):
        parser.print_help()
        return 2
    try:
        return int(args._func(args) or 0)
    except PainkitError as exc:
        print(f"painkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("painkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line for users, the traceback on request
        if os.environ.get("PAINKIT_DEBUG"):
            raise
        print(
            f"painkit: internal error: {type(exc).__name__}: {exc} "
            "(rerun with PAINKIT_DEBUG=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


def main_exit() -> None:
    """Console-script entry point."""
    sys.exit(main())
