"""The batch runner: one report per patient plus the cohort report, fast, resumable, distributed.

:func:`run_batch` renders the papermill templates of ``notebooks/reports/`` for every patient
and writes HTML (and PDF on request) plus a manifest. How it stays fast, safe and resumable:

Warm kernels
    Papermill normally starts a kernel per notebook (about 1.6 s). The ``painkit-warm`` engine
    (:mod:`painkit.report_engine`) keeps one kernel per worker thread and, before
    every notebook, resets it (:func:`kernel_reset`: ``%reset -f`` of the namespace and output
    cache, every matplotlib figure closed and rcParams restored, environment and warning
    filters restored, a fresh private working directory). HTML is converted in-process by
    nbconvert's ``HTMLExporter`` (inputs and prompts excluded).
Resumable
    Each report's *input key* is a hash of the patient's rows, the template, the evidence
    tables, the painkit version and the as-of date. It is written into the HTML itself (a
    ``<meta name="painkit-input-key">``), and the HTML is written last, so a report whose key
    matches is complete: a rerun skips it. Every file is written to a temporary file in the
    same folder, then ``os.replace``-d (:mod:`painkit.report_files`); stale temporary files of
    a killed run are removed, and so are the private scratch folders in the temp folder whose
    owner process has died (:mod:`painkit.scratch`).
Safe
    File names are :func:`painkit.reports.safe_slug` (slug plus hash) inside the output folder;
    folders are mode 0700 and files 0600; the HTML carries a Content-Security-Policy that
    allows no script and no network; all data is escaped by :mod:`painkit.reports`.
Failures
    One patient's failure (a notebook error, a dead kernel) is recorded in the manifest with
    its error and never stops the rest.
Parallel
    ``workers`` local processes, or a Dask distributed cluster given by ``scheduler``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import fcntl
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import ReportError
from .report_engine import ENGINE_NAME, KERNEL_NAME, kernel_reset, render_notebook, shutdown_kernels  # noqa: F401
from .report_files import _file_sha, _frame_bytes, _private_dir, _stored_key, _to_html, _with_meta
from .report_files import atomic_write, html_to_pdf, input_key
from .report_html import safe_slug
from .scratch import prefix, remove_abandoned

__all__ = ["run_batch", "BatchResult", "render_notebook", "kernel_reset", "TEMPLATES", "MANIFEST_COLUMNS",
           "atomic_write", "input_key", "html_to_pdf", "shutdown_kernels"]

TEMPLATES = Path(__file__).resolve().parent.parent / "notebooks" / "reports"
#: Set to a folder holding ``patient_report.ipynb`` and ``cohort_report.ipynb`` to use your own.
TEMPLATES_ENV = "PAINKIT_REPORT_TEMPLATES"
MANIFEST_COLUMNS = ["report", "patient_id", "slug", "status", "seconds", "html", "pdf", "error", "input_key"]


# -- one job ----------------------------------------------------------------------------------
def _run_job(job: dict) -> dict:
    """Render one report (patient or cohort); never raises: failures come back as a row."""
    start = time.perf_counter()
    html_path, pdf_path = Path(job["html"]), Path(job["pdf"]) if job["pdf"] else None
    row = {"report": job["report"], "patient_id": job["patient_id"], "slug": job["slug"], "status": "ok",
           "html": str(html_path), "pdf": str(pdf_path) if pdf_path else "", "error": "", "input_key": job["key"]}
    title = f"painkit {job['report']} report {job['slug']}"
    try:
        patients, assessments = job["data"]
        if job["renderer"] == "inprocess":
            import matplotlib

            matplotlib.use("Agg")
            from .reports import render_cohort_html, render_patient_html

            if job["report"] == "patient":
                text = render_patient_html(patients, assessments, job["patient_id"], as_of=job["as_of"])
            else:
                text = render_cohort_html(patients, assessments, as_of=job["as_of"], **job["options"])
            body = _with_meta(text, job["key"])
        else:
            with tempfile.TemporaryDirectory(prefix=prefix("data")) as tmp:
                snapshot = Path(tmp) / "snapshot.pkl"
                pd.to_pickle((patients, assessments), snapshot)
                params = {"source": str(snapshot), "as_of": job["as_of"], **job["options"]}
                if job["report"] == "patient":
                    params["patient_id"] = job["patient_id"]
                nb = render_notebook(job["template"], params, timeout=job["timeout"])
            body = _to_html(nb, title=title, key=job["key"])
        tmp_html = html_path.with_name(f".{html_path.name}.{os.getpid()}.render.tmp")
        if pdf_path:  # the PDF first: the HTML (carrying the key) is the commit marker
            atomic_write(tmp_html, body)
            try:
                html_to_pdf(tmp_html, pdf_path)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_html)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(html_path.with_suffix(".pdf"))  # never leave a stale PDF beside a new HTML
        atomic_write(html_path, body)
    except Exception as exc:  # noqa: BLE001 - one failure never stops the batch
        row.update(status="failed", error=_error_text(exc), html="", pdf="")
        for stale in (html_path, html_path.with_suffix(".pdf")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


def _error_text(exc) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    text = f"{ename}: {evalue}" if ename else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:500]


# -- the batch ---------------------------------------------------------------------------------
@dataclass
class BatchResult:
    """What :func:`run_batch` did: the manifest (one row per report) and where things are."""

    manifest: pd.DataFrame
    out: Path
    cohort_html: Path | None
    manifest_csv: Path
    manifest_json: Path

    @property
    def failed(self) -> int:
        """How many reports failed."""
        return int((self.manifest["status"] == "failed").sum())


def _clean_stale(folder: Path) -> None:
    for stale in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


_SERIAL = None


def _executor(workers: int, scheduler: str | None):
    if scheduler:
        from distributed import Client

        client = Client(scheduler, timeout="30s")
        return client, lambda job: client.submit(_run_job, job, pure=False), client.close
    if workers <= 1:  # one long-lived thread, so its warm kernel serves every batch of this process
        global _SERIAL
        if _SERIAL is None:
            _SERIAL = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="painkit-report")
        return _SERIAL, lambda job: _SERIAL.submit(_run_job, job), lambda: None
    import multiprocessing

    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    return pool, lambda job: pool.submit(_run_job, job), lambda: pool.shutdown(wait=True, cancel_futures=True)


def _completed(futures, scheduler):
    if scheduler:
        from distributed import as_completed

        return as_completed(futures)
    return cf.as_completed(futures)


def run_batch(patients: pd.DataFrame, assessments: pd.DataFrame, *, out, as_of=None, workers: int | None = None,
              scheduler: str | None = None, pdf: bool = False, renderer: str = "notebook", cohort: bool = True,
              cohort_options: dict | None = None, progress: bool = True, timeout: float = 600,
              templates=None, manifest: bool = True) -> BatchResult:
    """Render every patient's report and the cohort report into ``out``; resumable.

    Parameters
    ----------
    patients, assessments : pandas.DataFrame
        The cohort (:mod:`painkit.schema` contract).
    out : path
        Output folder (created, mode 0700): ``patients/<slug>.html`` (and ``.pdf``),
        ``cohort_report.html``, ``manifest.csv`` and ``manifest.json``.
    as_of : date-like, optional
        The date the reports are made at (default today); part of each report's input key.
    workers : int, optional
        Local worker processes, each with one warm kernel (default: the number of CPUs).
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:port``); overrides ``workers``.
    pdf : bool
        Also print each report to PDF with headless Chromium.
    renderer : {"notebook", "inprocess"}
        ``notebook`` runs the papermill templates (the product); ``inprocess`` renders the same
        sections without notebook machinery (for comparison).
    cohort_options : dict, optional
        Parameters of the cohort report (``plans``, ``conditions``, ``group_by``).
    manifest : bool, default True
        Write ``manifest.csv`` and ``manifest.json`` (``painkit report`` does not, so that one
        report never overwrites a batch's manifest).
    templates : path, optional
        Folder of the two templates (default ``$PAINKIT_REPORT_TEMPLATES`` or
        ``notebooks/reports``); each takes the parameters of the shipped ones.

    A patient whose rows break the data rules is reported as failed (with the problems) and
    the rest are rendered; the cohort report then covers the valid patients.

    Returns
    -------
    BatchResult
        ``manifest`` has one row per report: ``report`` (patient or cohort), ``patient_id``,
        ``slug``, ``status`` (``ok``, ``unchanged`` or ``failed``), ``seconds``, ``html``,
        ``pdf``, ``error`` and ``input_key``.

    Raises
    ------
    ReportError
        Bad options, duplicate patient ids, or another batch already writing to ``out``.
    """
    from tqdm.auto import tqdm

    if renderer not in {"notebook", "inprocess"}:
        raise ReportError(f"renderer must be 'notebook' or 'inprocess', not {renderer!r}")
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    if workers < 1:
        raise ReportError(f"--workers must be at least 1, not {workers}")
    templates = Path(templates or os.environ.get(TEMPLATES_ENV) or TEMPLATES)
    for name in ("patient_report.ipynb",) + (("cohort_report.ipynb",) if cohort else ()):
        if not (templates / name).is_file():
            raise ReportError(f"report template {templates / name} is missing")
    patients, assessments, invalid = _validated(patients, assessments)
    ids = patients["patient_id"].astype(str)
    if ids.duplicated().any():
        raise ReportError(f"duplicate patient ids: {', '.join(ids[ids.duplicated()].unique()[:5])}")
    as_of = (pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.today()).normalize().date().isoformat()
    out = _private_dir(Path(out))
    folder = _private_dir(out / "patients")
    lock = os.fdopen(os.open(out / ".painkit-batch.lock", os.O_WRONLY | os.O_CREAT, 0o600), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise ReportError(f"another painkit batch is writing to {out}; wait for it or choose another --out") from None
    try:
        _clean_stale(out)
        _clean_stale(folder)
        remove_abandoned()  # scratch folders of batches killed before they could clean up
        evidence_sha = _file_sha((Path(__file__).resolve().parent.parent / "data" / "evidence").glob("*.csv"))
        jobs, rows = [], []
        groups = assessments.groupby(assessments["patient_id"].astype(str), sort=False).indices
        options = dict(cohort_options or {})
        if cohort:
            tsha = _file_sha([templates / "cohort_report.ipynb"])
            data = _frame_bytes(patients) + _frame_bytes(assessments) + json.dumps(options, sort_keys=True).encode()
            jobs.append(_job("cohort", "", "cohort", out / "cohort_report.html", (patients, assessments), options,
                             input_key(data=data, template=tsha, as_of=as_of, renderer=renderer, evidence=evidence_sha),
                             templates / "cohort_report.ipynb", as_of, pdf, renderer, timeout))
        tsha = _file_sha([templates / "patient_report.ipynb"])
        for i, pid in enumerate(ids):
            mine = (patients.iloc[[i]], assessments.iloc[groups.get(pid, [])])
            slug = safe_slug(pid)
            html_path = folder / f"{slug}.html"
            if html_path.resolve().parent != folder.resolve():  # cannot happen with safe_slug; belt and braces
                raise ReportError(f"patient id {pid!r} would write outside {folder}")
            key = input_key(data=_frame_bytes(mine[0]) + _frame_bytes(mine[1]), template=tsha, as_of=as_of,
                            renderer=renderer, evidence=evidence_sha)
            jobs.append(_job("patient", pid, slug, html_path, mine, {}, key, templates / "patient_report.ipynb", as_of,
                             pdf, renderer, timeout))
        for pid, error in invalid.items():  # bad rows: reported, their stale outputs removed
            slug = safe_slug(pid)
            for stale in (folder / f"{slug}.html", folder / f"{slug}.pdf"):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
            rows.append({"report": "patient", "patient_id": pid, "slug": slug, "status": "failed", "seconds": 0.0,
                         "html": "", "pdf": "", "error": error, "input_key": ""})
            jobs.append({"report": "patient", "patient_id": pid})
        todo = []
        for job in jobs:
            if "key" not in job:
                continue
            done = _stored_key(Path(job["html"])) == job["key"] and (not pdf or Path(job["pdf"]).exists())
            if done:
                rows.append({"report": job["report"], "patient_id": job["patient_id"], "slug": job["slug"],
                             "status": "unchanged", "seconds": 0.0, "html": job["html"], "pdf": job["pdf"] or "",
                             "error": "", "input_key": job["key"]})
            else:
                todo.append(job)
        if todo:
            pool, submit, close = _executor(workers, scheduler)
            try:
                futures = {submit(job): job for job in todo}
                bar = tqdm(total=len(todo), unit="report", desc="painkit reports", disable=not progress)
                for future in _completed(list(futures), scheduler):
                    job = futures[future]
                    try:
                        row = future.result()
                    except Exception as exc:  # noqa: BLE001 - a worker died: record, go on
                        row = {"report": job["report"], "patient_id": job["patient_id"], "slug": job["slug"],
                               "status": "failed", "seconds": float("nan"), "html": "", "pdf": "",
                               "error": _error_text(exc), "input_key": job["key"]}
                    rows.append(row)
                    bar.update(1)
                    if row["status"] == "failed":
                        bar.set_postfix_str(f"failed: {sum(r['status'] == 'failed' for r in rows)}")
                bar.close()
            finally:
                close()
        order = {(j["report"], j["patient_id"]): k for k, j in enumerate(jobs)}
        table = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
        table = table.iloc[sorted(range(len(table)), key=lambda k: order[(rows[k]["report"], rows[k]["patient_id"])])]
        table = table.reset_index(drop=True)
        for col in ("html", "pdf"):
            table[col] = table[col].map(lambda p: os.path.relpath(p, out) if p else "")
        csv_path, json_path = out / "manifest.csv", out / "manifest.json"
        if manifest:
            from .cli import to_json

            atomic_write(csv_path, table.to_csv(index=False).encode("utf-8"))
            atomic_write(json_path, to_json(table.to_dict(orient="records")).encode("utf-8"))
        cohort_html = out / "cohort_report.html" if cohort else None
        return BatchResult(table, out, cohort_html, csv_path, json_path)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def _job(report, patient_id, slug, html_path, data, options, key, template, as_of, pdf, renderer, timeout) -> dict:
    html_path = Path(html_path)
    return {"report": report, "patient_id": patient_id, "slug": slug, "html": str(html_path),
            "pdf": str(html_path.with_suffix(".pdf")) if pdf else "", "data": data, "options": options, "key": key,
            "template": str(template), "as_of": as_of, "pdf_wanted": pdf, "renderer": renderer, "timeout": timeout}


def _validated(patients, assessments):
    """Validate both tables; patients whose rows break the rules are set aside with the problems."""
    from .errors import ValidationError
    from .schema import validate_assessments, validate_patients

    invalid: dict[str, str] = {}
    for _ in range(3):
        try:
            valid = validate_patients(patients)
            return valid, validate_assessments(assessments, patients=valid), invalid
        except ValidationError as err:
            problems = err.problems
            if problems is None or not len(problems) or problems["patient_id"].isna().any():
                raise
            for pid, group in problems.groupby(problems["patient_id"].astype(str), sort=False):
                text = "; ".join(f"{r.column}={r.value!r} on {r.date}: {r.reason}" for r in group.itertuples())
                invalid[pid] = ("invalid data: " + text)[:500]
            bad = list(invalid)
            patients = patients[~patients["patient_id"].astype(str).isin(bad)]
            assessments = assessments[~assessments["patient_id"].astype(str).isin(bad)]
    raise ReportError("could not set the invalid patients aside; fix the data and rerun")
