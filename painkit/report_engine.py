"""The ``painkit-warm`` papermill engine: one warm kernel per worker thread, reset between reports.

Papermill normally starts a kernel per notebook (about 1.6 s). The engine registered in
papermill's engine registry keeps one kernel per worker thread and, before every notebook,
resets it (:func:`kernel_reset`: ``%reset -f`` of the namespace and output cache, every
matplotlib figure closed and rcParams restored, environment and warning filters restored, a
fresh private working directory). A kernel that times out or dies is shut down, never reused.
The kernel talks over IPC sockets in a private folder: no TCP port, nothing reachable from
outside. :func:`render_notebook` executes one template on it.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import tempfile
import threading
from pathlib import Path

from .errors import ReportError
from .scratch import prefix

__all__ = ["render_notebook", "kernel_reset", "shutdown_kernels", "KERNEL_NAME", "ENGINE_NAME"]

KERNEL_NAME = "python3"
ENGINE_NAME = "painkit-warm"
_SNAPSHOT: dict = {}


def kernel_reset(workdir: str) -> None:
    """Run inside a kernel between two reports: forget everything the previous one left.

    Clears the user namespace and output history (``%reset -f``), closes every matplotlib
    figure and restores rcParams, restores environment variables and warning filters as they
    were when the kernel started, and moves into the fresh working directory ``workdir``.
    """
    import gc
    import warnings

    os.chdir(workdir)  # first: the previous report's folder is already gone
    ip = get_ipython()  # noqa: F821 - only called inside a kernel
    ip.displayhook.do_full_cache = False  # keep no Out[] history (and skip its full gc.collect on reset)
    ip.run_line_magic("reset", "-f")
    ip.execution_count = 1
    import matplotlib
    import matplotlib.pyplot as plt  # imported once per kernel, so every report starts from the same rc

    plt.close("all")
    rc = _SNAPSHOT.setdefault("rc", dict(matplotlib.rcParams))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matplotlib.rcParams.update(rc)
    env = _SNAPSHOT.setdefault("env", dict(os.environ))
    for name in set(os.environ) - set(env):
        del os.environ[name]
    os.environ.update(env)
    filters = _SNAPSHOT.setdefault("warnings", list(warnings.filters))
    warnings.filters[:] = filters
    gc.collect(1)  # young objects only: a full collection per report costs more than the report


class _WarmKernel:
    """One live kernel and its client, owned by one thread of one process."""

    def __init__(self):
        self.km = self.kc = None
        self.sockets = None

    def alive(self) -> bool:
        if self.km is None:
            return False
        from jupyter_core.utils import run_sync

        return bool(run_sync(self.km.is_alive)())

    def shutdown(self):
        if self.km is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
            with contextlib.suppress(Exception):
                from jupyter_core.utils import run_sync

                run_sync(self.km.shutdown_kernel)(now=True)
        if self.sockets:
            shutil.rmtree(self.sockets, ignore_errors=True)
        self.km = self.kc = self.sockets = None


_LOCAL = threading.local()
_ALL_KERNELS: list = []


def _kernel() -> _WarmKernel:
    kernel = getattr(_LOCAL, "kernel", None)
    if kernel is None:
        kernel = _LOCAL.kernel = _WarmKernel()
        _ALL_KERNELS.append(kernel)
        if len(_ALL_KERNELS) == 1:
            import atexit
            from multiprocessing import util

            atexit.register(shutdown_kernels)
            util.Finalize(None, shutdown_kernels, exitpriority=50)  # pool workers skip atexit
    return kernel


def shutdown_kernels() -> None:
    """Shut down every warm kernel of this process (also run at exit)."""
    for kernel in _ALL_KERNELS:
        kernel.shutdown()


def _engine_class():
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine

    class WarmKernelEngine(NBClientEngine):
        """Papermill engine that reuses one kernel per worker thread, reset between notebooks."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                     start_timeout=60, execution_timeout=None, **kwargs):
            warm = _kernel()
            client = PapermillNotebookClient(nb_man, km=warm.km if warm.alive() else None, kernel_name=kernel_name,
                                             timeout=execution_timeout, startup_timeout=start_timeout,
                                             log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file)
            if warm.alive():
                client.kc = warm.kc
            else:
                warm.shutdown()
                client.km = client.create_kernel_manager()
                # IPC sockets in a private folder: no TCP port, nothing reachable from outside
                warm.sockets = tempfile.mkdtemp(prefix=prefix("kernel"))
                client.km.transport, client.km.ip = "ipc", os.path.join(warm.sockets, "k")
                # its connection file (which holds the key) too, so it goes with the folder
                client.km.connection_file = os.path.join(warm.sockets, "kernel.json")
                client.start_new_kernel()
                client.start_new_kernel_client()
                warm.km, warm.kc = client.km, client.kc
            workdir = tempfile.mkdtemp(prefix=prefix("run"))
            try:
                cls._run(client, f"__import__('painkit.report_engine').report_engine.kernel_reset({workdir!r})")
                return client.execute(cleanup_kc=False)
            except BaseException:
                warm.shutdown()  # a timed-out or dead kernel is never reused
                raise
            finally:
                shutil.rmtree(workdir, ignore_errors=True)

        @staticmethod
        def _run(client, code):
            reply = client.wait_for_reply(client.kc.execute(code, silent=True, store_history=False))
            if reply is None or reply["content"].get("status") != "ok":
                raise ReportError(f"could not reset the report kernel: {reply and reply['content'].get('evalue')}")

    return WarmKernelEngine


def _register_engine():
    from papermill.engines import papermill_engines

    if ENGINE_NAME not in papermill_engines._engines:
        papermill_engines.register(ENGINE_NAME, _engine_class())


_TEMPLATE_CACHE: dict = {}


def _template(path):
    import nbformat

    path = Path(path)
    stamp = (path, path.stat().st_mtime_ns) if path.exists() else None
    if stamp is None:
        raise ReportError(f"report template {path} is missing")
    if stamp not in _TEMPLATE_CACHE:
        _TEMPLATE_CACHE[stamp] = nbformat.read(path, as_version=4)
    return copy.deepcopy(_TEMPLATE_CACHE[stamp])


def render_notebook(template: str, parameters: dict, *, timeout: float = 600):
    """Execute a report template with papermill on a warm kernel; returns the executed notebook.

    Raises ``papermill.PapermillExecutionError`` when a cell fails.
    """
    import papermill as pm

    _register_engine()
    return pm.execute_notebook(_template(template), None, parameters=parameters, engine_name=ENGINE_NAME,
                               kernel_name=KERNEL_NAME, progress_bar=False, request_save_on_cell_execute=False,
                               execution_timeout=timeout)
