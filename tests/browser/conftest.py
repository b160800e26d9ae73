"""Real-browser fixtures: JupyterLab and Voila on loopback, headless Chromium through Playwright.

One server of each kind per test session (session-scoped fixtures), each on a free port of
127.0.0.1, with its own temporary store (``$PAINKIT_DB``), Jupyter runtime and settings
folders, so a run never touches the default store or the user's Jupyter state. Servers are
started in their own process group and always stopped (SIGTERM, then SIGKILL), together with
any kernel they started.

Without /usr/bin/chromium or the playwright package the tests skip with the reason; under
``CI=true`` the root conftest turns such a skip into a failure.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
BIN = Path(sys.executable).parent
START_TIMEOUT = 240.0
#: The seeded patient of the Voila store: plan cbt+pt started four weeks ago, baseline 8.
PATIENT = "B-1"
TODAY = dt.date.today()
PLAN_START = TODAY - dt.timedelta(days=28)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc), e.g. the kernels a server started."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    kids = _children(proc.pid)
    os.killpg(proc.pid, signal.SIGTERM)  # the server's own group (start_new_session)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    for pid in kids:  # kernels live in their own sessions: stop any the server left behind
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait_ready(proc: subprocess.Popen, port: int, log: Path, url: str | None = None) -> None:
    """Wait until the port accepts connections (and ``url`` answers), or fail with the log."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            if url is None:
                return
            with urllib.request.urlopen(url, timeout=10) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready after {START_TIMEOUT:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def _server(cmd: list[str], *, env: dict, port: int, log: Path, ready_url: str | None = None):
    handle = log.open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                            cwd=str(ROOT))
    try:
        _wait_ready(proc, port, log, ready_url)
    except BaseException:
        _stop(proc)
        handle.close()
        raise
    return proc, handle


def _environment(base: Path, db: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "PAINKIT_DB": str(db),
        "PAINKIT_REPORTS": str(base / "reports"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "MPLBACKEND": "Agg",
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    })
    return env


@pytest.fixture(scope="session")
def chromium_browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed in this environment")
    manager = sync_playwright().start()
    browser = manager.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        manager.stop()


@pytest.fixture
def page(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(120_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def voila_store(tmp_path_factory) -> Path:
    """The Voila server's store: patient B-1 (cbt+pt from four weeks ago, baseline 8)."""
    from painkit.store import Store

    db = tmp_path_factory.mktemp("voila-store") / "painkit.db"
    with Store(db) as store:
        store.add_patient(PATIENT, plan="cbt+pt", plan_start=PLAN_START, sex="female", birth_year=1972,
                          height_cm=168, weight_kg=72)
        store.add_update(PATIENT, PLAN_START, nrs=8)
    return db


def _voila(notebook: str, db: Path, base: Path):
    port = _free_port()
    cmd = [str(BIN / "voila"), str(ROOT / "notebooks" / notebook), "--no-browser", "--Voila.ip=127.0.0.1",
           f"--port={port}"]
    # readiness: the port only; a GET of the page would start a kernel
    proc, handle = _server(cmd, env=_environment(base, db), port=port, log=base / "voila.log")
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        _stop(proc)
        handle.close()


@pytest.fixture(scope="session")
def voila_url(chromium_browser, voila_store, tmp_path_factory):
    """Voila serving notebooks/tracker.ipynb on loopback (as ``make app`` does)."""
    yield from _voila("tracker.ipynb", voila_store, tmp_path_factory.mktemp("voila"))


@pytest.fixture(scope="session")
def explorer_url(chromium_browser, tmp_path_factory):
    """Voila serving notebooks/evidence_explorer.ipynb on loopback."""
    base = tmp_path_factory.mktemp("voila-explorer")
    yield from _voila("evidence_explorer.ipynb", base / "painkit.db", base)


@pytest.fixture(scope="session")
def lab(chromium_browser, tmp_path_factory):
    """JupyterLab on loopback, token-less, rooted in a temporary copy of the tracker notebook.

    Yields ``(url, store_path)``.
    """
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / "tracker.ipynb", root / "tracker.ipynb")
    db = base / "painkit.db"
    port = _free_port()
    cmd = [str(BIN / "jupyter"), "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
           "--ServerApp.password=", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    proc, handle = _server(cmd, env=_environment(base, db), port=port, log=base / "lab.log",
                           ready_url=f"http://127.0.0.1:{port}/api/status")
    try:
        yield f"http://127.0.0.1:{port}", db
    finally:
        _stop(proc)
        handle.close()
