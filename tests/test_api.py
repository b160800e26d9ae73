"""The public API: every name in painkit.__all__ resolves, and heavy modules load lazily."""

from __future__ import annotations

import subprocess
import sys

import painkit


def test_every_public_name_resolves():
    for name in painkit.__all__:
        assert getattr(painkit, name) is not None, name


def test_import_painkit_does_not_load_heavy_modules():
    code = (
        "import sys, painkit; "
        "heavy = [m for m in ('papermill', 'distributed', 'ipywidgets', 'fhir.resources', 'painkit.batch') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_errors_are_value_errors():
    for name in ("EvidenceError", "InputError", "UnknownModalityError", "EmptyPlanError", "ValidationError", "StoreError", "ReportError"):
        assert issubclass(getattr(painkit, name), painkit.PainkitError)
    assert issubclass(painkit.PainkitError, ValueError)
