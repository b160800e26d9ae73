"""The command line: output, JSON and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from painkit.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_estimate_prints_a_readable_table(capsys):
    code, out, err = run(capsys, "estimate", "--baseline", "7", "--plan", "cbt")
    assert code == 0 and err == ""
    assert "current level 7, expected level 4" in out
    assert "Chance of >=30% reduction: 60%" in out
    assert "Realistic expectations" in out and "Not medical advice" in out


def test_estimate_json_has_the_agreed_keys(capsys):
    code, out, _ = run(capsys, "estimate", "--baseline", "7", "--plan", "pt", "--plan", "cbt", "--json", "--combine", "independent")
    assert code == 0
    data = json.loads(out)
    for key in ("expected", "low", "high", "reduction_pct", "p30", "p50", "trajectory", "combine", "sensitivity"):
        assert key in data
    assert data["combine"] == "independent"
    assert data["expected"] == pytest.approx(7 * 0.475 * 0.6)
    assert len(data["trajectory"]) == 27 and data["trajectory"][0] == {
        "week": 0, "expected": 7.0, "low": 7.0, "high": 7.0, "reduction_pct": 0.0}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["estimate", "--baseline", "11", "--plan", "cbt"], "baseline '11' is outside the NRS; allowed: 0 to 10"),
        (["estimate", "--baseline", "abc", "--plan", "cbt"], "baseline 'abc' is not a number"),
        (["estimate", "--baseline", "5", "--plan", "cbd"], "unknown treatment 'cbd'. Did you mean 'cbt'"),
        (["estimate", "--baseline", "5", "--plan", ""], "the plan is empty"),
        (["estimate", "--baseline", "5"], "the following arguments are required: --plan"),
        (["estimate", "--baseline", "5", "--plan", "cbt", "--combine", "sum"], "invalid choice: 'sum'"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) if "--plan" not in argv or "sum" in argv else _noop():
        code, out, err = run(capsys, *argv)
        assert code == 2
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
        return
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


class _noop:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_evidence_command_lists_arms_and_claims(capsys):
    code, out, _ = run(capsys, "evidence")
    assert code == 0 and "mbsr_24wk" in out and "Spinal cord stimulation" in out
    code, out, _ = run(capsys, "evidence", "--table", "claims", "--json")
    claims = {c["claim"]: c for c in json.loads(out)}
    assert claims["scs_responder_share"]["value"] == 60


def test_module_and_console_script_entry_points():
    result = subprocess.run(
        [sys.executable, "-m", "painkit", "estimate", "--baseline", "12", "--plan", "cbt"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 2 and result.stderr.startswith("painkit: error: baseline '12'")
    script = Path(sys.executable).with_name("painkit")
    result = subprocess.run([script, "estimate", "--baseline", "7", "--plan", "cbt", "--json"], capture_output=True, text=True)
    assert result.returncode == 0 and json.loads(result.stdout)["expected"] == pytest.approx(4.2)
