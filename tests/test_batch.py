"""The batch runner (painkit.batch): manifest, resume, failures, safety, warm kernels, Dask."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from painkit.batch import MANIFEST_COLUMNS, atomic_write, run_batch
from painkit.exchange import write_cohort
from painkit.reports import safe_slug
from painkit.sample import synthetic_cohort
from painkit.scratch import prefix, remove_abandoned

AS_OF = "2025-09-01"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cohort():
    return synthetic_cohort(4, seed=3)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _complete(path: Path) -> bool:
    return path.read_bytes().rstrip().endswith(b"</html>")


def test_atomic_write_is_private_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a.html"
    atomic_write(target, b"<html></html>")
    atomic_write(target, b"<html>2</html>")
    assert target.read_bytes() == b"<html>2</html>" and _mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["a.html"]


def test_inprocess_batch_manifest_resume_and_private_files(cohort, tmp_path):
    patients, assessments = cohort
    out = tmp_path / "reports"
    first = run_batch(patients, assessments, out=out, as_of=AS_OF, workers=1, renderer="inprocess", progress=False)
    m = first.manifest
    assert list(m.columns) == MANIFEST_COLUMNS
    assert m["report"].tolist() == ["cohort"] + ["patient"] * len(patients)
    assert (m["status"] == "ok").all() and first.failed == 0
    assert m.loc[m["report"] == "patient", "patient_id"].tolist() == patients["patient_id"].tolist()
    for row in m.itertuples():
        path = out / row.html
        assert path.exists() and _complete(path) and _mode(path) == 0o600
        assert f'content="{row.input_key}"' in path.read_text()[:2000]
    assert _mode(out) == 0o700 and _mode(out / "patients") == 0o700
    assert _mode(first.manifest_csv) == 0o600 and _mode(first.manifest_json) == 0o600
    assert json.loads(first.manifest_json.read_text())[1]["status"] == "ok"
    assert pd.read_csv(first.manifest_csv)["status"].tolist() == m["status"].tolist()

    # a rerun with nothing changed skips everything
    again = run_batch(patients, assessments, out=out, as_of=AS_OF, workers=1, renderer="inprocess", progress=False)
    assert (again.manifest["status"] == "unchanged").all()
    # one patient's data changes: only their report and the cohort report are redone
    changed = assessments.copy()
    pid = patients["patient_id"].iloc[2]
    changed.loc[changed.index[changed["patient_id"] == pid][-1], "nrs"] = 0
    third = run_batch(patients, changed, out=out, as_of=AS_OF, workers=1, renderer="inprocess", progress=False)
    redone = third.manifest.loc[third.manifest["status"] == "ok", "patient_id"].tolist()
    assert redone == ["", pid]
    # a new as-of date changes every key
    fourth = run_batch(patients, changed, out=out, as_of="2025-10-01", workers=1, renderer="inprocess", progress=False)
    assert (fourth.manifest["status"] == "ok").all()


def test_one_bad_patient_never_stops_the_rest(cohort, tmp_path):
    patients, assessments = cohort
    bad = assessments.copy()
    bad["nrs"] = bad["nrs"].astype(object)
    victim = patients["patient_id"].iloc[1]
    bad.loc[bad.index[bad["patient_id"] == victim][1], "nrs"] = 15
    result = run_batch(patients, bad, out=tmp_path, as_of=AS_OF, workers=1, renderer="inprocess", progress=False)
    m = result.manifest.set_index("patient_id")
    assert result.failed == 1
    assert m.loc[victim, "status"] == "failed" and "nrs=15" in m.loc[victim, "error"]
    assert (m.drop(index=victim)["status"] == "ok").all()
    assert not (tmp_path / "patients" / f"{safe_slug(victim)}.html").exists()


def test_hostile_patient_id_stays_inside_and_is_escaped(cohort, tmp_path):
    patients, assessments = cohort
    evil = "../../<script>alert(1)</script>/../x"
    old = patients["patient_id"].iloc[0]
    patients = patients.assign(patient_id=patients["patient_id"].replace(old, evil))
    assessments = assessments.assign(patient_id=assessments["patient_id"].replace(old, evil))
    out = tmp_path / "out"
    result = run_batch(patients, assessments, out=out, as_of=AS_OF, workers=1, renderer="inprocess", progress=False,
                       cohort=False)
    assert result.failed == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert all(w.startswith("out/") for w in written)
    page = (out / "patients" / f"{safe_slug(evil)}.html").read_text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Content-Security-Policy" in page and "script-src 'none'" in page


def test_a_batch_removes_scratch_folders_only_of_dead_owners(cohort, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    _, _, host, pid, start, _ = prefix("run").split("-")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs
    dead = [f"painkit-run-{host}-{gone.pid}-{start}-a1", f"painkit-kernel-{host}-{gone.pid}-0-b2",
            f"painkit-data-{host}-{pid}-{int(start) + 1}-c3"]  # the last: our pid, reused by a younger process
    kept = [prefix("pdf") + "d4",  # alive: this process
            f"painkit-run-{'0' * 6 if host != '0' * 6 else '1' * 6}-{gone.pid}-{start}-e5",  # another host
            "painkit-run-abcd1234", "painkit-kernel-" + "f6"]  # no owner recorded (older versions)
    for name in dead + kept:
        (tmp_path / "tmp" / name / "sub").mkdir(parents=True)
        (tmp_path / "tmp" / name / "sub" / "snapshot.pkl").write_bytes(b"x")
    target = tmp_path / "target"
    target.mkdir()
    link = f"painkit-run-{host}-{gone.pid}-{start}-link"
    os.symlink(target, tmp_path / "tmp" / link)  # links are never followed nor removed
    (tmp_path / "tmp" / f"painkit-data-{host}-{gone.pid}-{start}-file").write_text("not a folder")
    patients, assessments = cohort
    mine = patients.iloc[[0]]
    result = run_batch(mine, assessments[assessments["patient_id"] == mine["patient_id"].iloc[0]],
                       out=tmp_path / "out", as_of=AS_OF, workers=1, renderer="inprocess", cohort=False, progress=False)
    assert result.failed == 0
    left = sorted(p.name for p in (tmp_path / "tmp").iterdir())
    assert left == sorted(kept + [link, f"painkit-data-{host}-{gone.pid}-{start}-file"])
    assert target.is_dir() and remove_abandoned() == []


def _leak_template(folder: Path) -> Path:
    """A template that records what it can see, then leaves variables, a figure, a file and env behind."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('patient_id = "x"\nsource = None\nas_of = None')
    params.metadata["tags"] = ["parameters"]
    look = nbformat.v4.new_code_cell(
        "import os, sys, json\nimport matplotlib, matplotlib.pyplot as plt\n"
        "seen = {'vars': sorted(k for k in globals() if k.startswith('secret_')), 'figs': plt.get_fignums(),\n"
        "        'files': sorted(os.listdir('.')), 'env': os.environ.get('PAINKIT_LEAK'),\n"
        "        'lw': matplotlib.rcParams['lines.linewidth'], 'pid': os.getpid(), 'out': len(Out)}\n"
        "print('SEEN=' + json.dumps(seen))")
    leave = nbformat.v4.new_code_cell(
        "secret_patient = patient_id\nfig = plt.figure()\nopen('leak.txt', 'w').write(patient_id)\n"
        "os.environ['PAINKIT_LEAK'] = patient_id\nmatplotlib.rcParams['lines.linewidth'] = 9\n"
        "if patient_id.endswith('3'):\n    raise RuntimeError('boom for ' + patient_id)\nsecret_patient")
    nb.cells = [params, look, leave]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir()
    nbformat.write(nb, folder / "patient_report.ipynb")
    return folder


@pytest.mark.notebook
def test_warm_kernel_forgets_everything_between_patients(cohort, tmp_path):
    patients, assessments = cohort
    templates = _leak_template(tmp_path / "templates")
    result = run_batch(patients, assessments, out=tmp_path / "out", as_of=AS_OF, workers=1, cohort=False,
                       templates=templates, progress=False)
    m = result.manifest.set_index("patient_id")
    seen = {}
    for pid, row in m.iterrows():
        if row["status"] == "ok":
            text = (tmp_path / "out" / row["html"]).read_text()
            seen[pid] = json.loads(re.search(r"SEEN=(\{.*?\})\n", text).group(1).replace("&quot;", '"'))
    failed = [pid for pid in m.index if pid.endswith("3")]
    assert failed and all(m.loc[pid, "status"] == "failed" and "boom for" in m.loc[pid, "error"] for pid in failed)
    assert len(seen) == len(patients) - len(failed) >= 3
    default_lw = seen[patients["patient_id"].iloc[0]]["lw"]
    for pid, s in seen.items():
        assert s["vars"] == [] and s["figs"] == [] and s["files"] == [] and s["env"] is None, (pid, s)
        assert s["lw"] == default_lw != 9 and s["out"] == 0
    assert len({s["pid"] for s in seen.values()}) == 1  # one warm kernel served them all


@pytest.mark.notebook
def test_notebook_batch_matches_inprocess_content(cohort, tmp_path):
    patients, assessments = cohort
    nb = run_batch(patients, assessments, out=tmp_path / "nb", as_of=AS_OF, workers=1, progress=False)
    ip = run_batch(patients, assessments, out=tmp_path / "ip", as_of=AS_OF, workers=1, renderer="inprocess",
                   progress=False)
    assert nb.failed == 0 and ip.failed == 0
    for row in nb.manifest.itertuples():
        a = (tmp_path / "nb" / row.html).read_text()
        b = (tmp_path / "ip" / row.html).read_text()
        heads = re.findall(r"<h[12]>([^<]+)</h[12]>", a)
        assert heads == re.findall(r"<h[12]>([^<]+)</h[12]>", b) and len(heads) >= 7
        assert "PatientReport" not in a and "CohortReport" not in a and "<script" not in a  # no code shown


@pytest.mark.notebook
@pytest.mark.slow
def test_kill_midway_then_rerun_gives_every_report_once(cohort, tmp_path):
    patients, assessments = synthetic_cohort(8, seed=5)
    csv = write_cohort(patients, assessments, tmp_path / "cohort.csv")
    out = tmp_path / "reports"
    cmd = [sys.executable, "-m", "painkit", "batch", "--cohort", str(csv), "--out", str(out), "--as-of", AS_OF,
           "--workers", "1", "--no-progress"]
    scratch = Path(tempfile.mkdtemp(prefix="pk-", dir="/tmp"))  # short: the kernel's IPC socket paths live here
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 300
    folder = out / "patients"
    while time.time() < deadline and proc.poll() is None:
        if folder.exists() and len(list(folder.glob("*.html"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the batch finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p.name for p in folder.glob("*.html")}
    assert 2 <= len(done_before) < len(patients)
    left = [p.name for p in scratch.iterdir()]
    assert any(name.startswith("painkit-kernel-") for name in left), left  # SIGKILL cleans nothing up
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert rerun.returncode == 0, rerun.stderr
    manifest = pd.read_csv(out / "manifest.csv", keep_default_na=False)
    patient_rows = manifest[manifest["report"] == "patient"]
    assert sorted(patient_rows["patient_id"]) == sorted(patients["patient_id"])
    assert set(patient_rows["status"]) <= {"ok", "unchanged"} and (patient_rows["status"] == "unchanged").sum() >= 2
    htmls = sorted(p.name for p in folder.iterdir())
    assert htmls == sorted(f"{safe_slug(pid)}.html" for pid in patients["patient_id"])  # once each, no temp files
    assert all(_complete(folder / name) for name in htmls)
    assert not [p for p in out.rglob(".*.tmp")]
    assert not list(scratch.iterdir())  # the killed run's scratch folders (sockets, connection file) too
    scratch.rmdir()


@pytest.mark.notebook
@pytest.mark.slow
def test_dask_local_cluster(cohort, tmp_path):
    from distributed import LocalCluster

    patients, assessments = cohort
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        result = run_batch(patients, assessments, out=tmp_path, as_of=AS_OF, scheduler=cluster.scheduler_address,
                           progress=False)
    assert result.failed == 0, result.manifest["error"].tolist()
    assert len(result.manifest) == len(patients) + 1
    assert all(_complete(tmp_path / h) for h in result.manifest["html"])


@pytest.mark.notebook
def test_hostile_patient_id_cannot_inject_code_through_papermill(cohort, tmp_path):
    patients, assessments = cohort
    marker = Path(f"/tmp/pk{os.getpid()}")  # short: patient ids have at most 64 characters
    evil = f'x";import os;os.system("touch {marker}")#\\ <script>'
    assert len(evil) <= 64
    old = patients["patient_id"].iloc[0]
    mine = patients.iloc[[0]].assign(patient_id=evil)
    theirs = assessments[assessments["patient_id"] == old].assign(patient_id=evil)
    result = run_batch(mine, theirs, out=tmp_path / "out", as_of=AS_OF, workers=1, cohort=False, progress=False)
    assert not marker.exists()
    assert result.failed == 0, result.manifest["error"].tolist()
    page = (tmp_path / "out" / result.manifest["html"].iloc[0]).read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
