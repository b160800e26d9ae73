"""Shared test configuration.

Under ``CI=true`` a browser or notebook test may not skip: a skip there would hide a missing
piece (no Chromium, no kernel), so it is turned into a failure.
"""

from __future__ import annotations

import os

import pytest

ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if ON_CI and report.skipped and any(any(item.iter_markers(n)) for n in ("browser", "notebook")):
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: browser and notebook tests must run under CI=true, not skip"
