"""Private scratch folders named after the process that owns them, and removal of abandoned ones.

Rendering reports makes short-lived private folders (mode 0700) in :func:`tempfile.gettempdir`:
``painkit-run-*`` (a report's working directory), ``painkit-kernel-*`` (a warm kernel's IPC
sockets), ``painkit-data-*`` (a report's data snapshot) and ``painkit-pdf-*`` (Chromium's profile).
They are removed when done, but a process killed with SIGKILL cannot remove them. So each name
records its owner, ``painkit-<kind>-<host>-<pid>-<start>-<random>``: ``host`` is a short hash
of the host name, ``pid`` the owner process and ``start`` its start time (clock ticks after boot,
from ``/proc``; 0 where there is no ``/proc``).

:func:`remove_abandoned` (run by every batch) removes only the folders it can prove abandoned:
a directory (not a link) owned by this user, made on this host, whose owner process no longer
runs (no process has that pid, or the pid now belongs to a process started at another time).
Anything else, such as a folder named in another way, is left alone.

Examples
--------
>>> name = prefix("run")
>>> name.startswith("painkit-run-") and name.endswith("-") and f"-{os.getpid()}-" in name
True
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import socket
import stat
import tempfile
from pathlib import Path

__all__ = ["KINDS", "prefix", "remove_abandoned"]

#: The kinds of scratch folder: ``painkit-<kind>-...``.
KINDS = ("run", "kernel", "data", "pdf")
_NAME = re.compile(r"painkit-(?:run|kernel|data|pdf)-([0-9a-f]{6})-([0-9]+)-([0-9]+)-.+")


@functools.lru_cache(maxsize=1)
def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8")).hexdigest()[:6]


def _start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot); None when unknown or not running."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read()
        return int(text[text.rindex(b")") + 2:].split()[19])  # field 22, after "pid (comm)"
    except (OSError, ValueError, IndexError):
        return None


def _running(pid: int, start: int) -> bool:
    """False only when no process started at ``start`` can still have the id ``pid``."""
    if pid <= 0:
        return True  # never a real owner: not proven abandoned
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process has the pid now: compare start times
    if start == 0:
        return True  # no start time recorded: the pid alone cannot prove anything
    now = _start_ticks(pid)
    return now is None or now == start


def prefix(kind: str) -> str:
    """The name prefix of a scratch folder of this process, for :func:`tempfile.mkdtemp`.

    ``kind`` is one of :data:`KINDS`.
    """
    if kind not in KINDS:
        raise ValueError(f"scratch folder kind must be one of {', '.join(KINDS)}, not {kind!r}")
    pid = os.getpid()
    return f"painkit-{kind}-{_host()}-{pid}-{_start_ticks(pid) or 0}-"


def remove_abandoned(root=None) -> list[Path]:
    """Remove the scratch folders in ``root`` (default the temp folder) whose owner has died.

    Returns
    -------
    list of pathlib.Path
        The folders removed. Errors (a folder that vanished, no permission) are ignored: a
        folder that cannot be removed now is tried again by the next batch.
    """
    root = Path(root or tempfile.gettempdir())
    removed: list[Path] = []
    uid = os.getuid()
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        found = _NAME.fullmatch(entry.name)
        if not found or found.group(1) != _host():
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
            continue
        if _running(int(found.group(2)), int(found.group(3))):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.lexists(entry.path):
            removed.append(Path(entry.path))
    return removed
