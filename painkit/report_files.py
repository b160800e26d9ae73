"""The files a batch writes: private atomic writes, input keys, report pages and PDFs.

Every file is written to a temporary file in the same folder, then ``os.replace``-d
(:func:`atomic_write`), mode 0600, in folders of mode 0700. A report's *input key*
(:func:`input_key`) is written into the page itself as ``<meta name="painkit-input-key">``,
beside a Content-Security-Policy that allows no script and no network; a page whose stored key
matches is complete, so a rerun can skip it. An executed notebook becomes a page through
nbconvert's ``HTMLExporter`` (no code, no prompts, no scripts); :func:`html_to_pdf` prints a
page with headless Chromium.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pandas as pd

from . import __version__
from .errors import ReportError
from .scratch import prefix

__all__ = ["atomic_write", "input_key", "html_to_pdf"]

_KEY_META = re.compile(rb'<meta name="painkit-input-key" content="([0-9a-f]{64})">')
_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
        "script-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (same-folder temp file + ``os.replace``), mode 0600."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def _stored_key(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError:
        return None
    found = _KEY_META.search(head)
    return found.group(1).decode() if found else None


def _sha(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def _file_sha(paths) -> str:
    return _sha(*(p.read_bytes() for p in sorted(paths)))


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    return ",".join(map(str, frame.columns)).encode() + pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()


def input_key(*, data: bytes, template: str, as_of, renderer: str, evidence: str) -> str:
    """The hash a report depends on: data, template, evidence, painkit version, as-of, renderer."""
    return _sha(data, template, evidence, __version__, str(as_of), renderer)


_LOCAL = threading.local()


def _to_html(nb, *, title: str, key: str) -> bytes:
    """Convert an executed notebook to a page: nbconvert's ``basic`` template, no code, no scripts."""
    from .report_html import page

    exporter = getattr(_LOCAL, "exporter", None)
    if exporter is None:
        from nbconvert import HTMLExporter

        exporter = _LOCAL.exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                                                  exclude_output_prompt=True, exclude_markdown=True)
    body, _ = exporter.from_notebook_node(nb)
    body = _SCRIPT.sub("", body)  # reports carry no script: none of the template's either
    return _with_meta(page(title, [body]), key)


_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)


def _with_meta(text: str, key: str) -> bytes:
    meta = f'<meta name="painkit-input-key" content="{key}"><meta http-equiv="Content-Security-Policy" content="{_CSP}">'
    return text.replace("<head>", "<head>" + meta, 1).encode("utf-8")


def html_to_pdf(html_path: Path, pdf_path: Path, *, timeout: float = 120) -> None:
    """Print an HTML report to PDF with headless Chromium (``/usr/bin/chromium``), atomically."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        raise ReportError("PDF output needs Chromium (apt-get install chromium); not found")
    with tempfile.TemporaryDirectory(prefix=prefix("pdf")) as tmp:
        out = Path(tmp) / "report.pdf"
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp}/profile", "--no-pdf-header-footer", f"--print-to-pdf={out}",
               Path(html_path).resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            raise ReportError(f"chromium could not print {html_path} to PDF: {done.stderr.decode()[-300:]}")
        atomic_write(pdf_path, out.read_bytes())
