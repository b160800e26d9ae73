"""The tracker in a real browser: Voila (the no-code app) and JupyterLab, driven by Chromium.

Each test waits for what it expects (selectors, texts) with generous timeouts: kernels start
slowly on a small shared machine. Assertions on the store read the SQLite file directly.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

import pytest

from .conftest import PATIENT, PLAN_START, TODAY

pytestmark = pytest.mark.browser

LOAD = 240_000  # ms: first render includes a kernel start and painkit's imports


def _rows(db, patient_id):
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "SELECT a.date, a.nrs FROM assessments a JOIN patients p ON p.id = a.pid WHERE p.patient_id = ? "
            "ORDER BY a.date", (patient_id,)).fetchall()
    finally:
        con.close()


def _patients(db):
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("SELECT patient_id FROM patients ORDER BY patient_id")]
    except sqlite3.OperationalError:  # the app has not created the store yet
        return []
    finally:
        con.close()


def _headline(page):
    return page.locator(".painkit-headline").first


def _wait_text(page, selector: str, pattern: str, timeout: float = 120_000) -> None:
    """Wait until the first element matching ``selector`` contains ``pattern`` (a regex)."""
    page.wait_for_function(
        "([sel, pat]) => { const e = document.querySelector(sel); return !!e && new RegExp(pat).test(e.textContent); }",
        arg=[selector, pattern], timeout=timeout)


def _move_slider(page, steps: int) -> None:
    handle = page.locator(".painkit-baseline .noUi-handle").first
    handle.focus()
    for _ in range(abs(steps)):
        page.keyboard.press("ArrowRight" if steps > 0 else "ArrowLeft")


def _choose_patient(page, patient_id: str) -> None:
    page.locator(".painkit-patient select").select_option(patient_id)
    _wait_text(page, ".painkit-chart-caption", r"recorded score")


def _submit_update(page, nrs: str) -> None:
    box = page.locator(".painkit-update-nrs input")
    box.fill(nrs)
    box.press("Enter")  # IntText syncs on Enter or blur
    page.get_by_role("button", name="Add progress update").click()


# ---------------------------------------------------------------------------------- Voila
@pytest.fixture
def voila(page, voila_url):
    page.goto(voila_url, timeout=LOAD)
    _wait_text(page, ".painkit-headline", r"expected level \d", timeout=LOAD)
    return page


def test_voila_slider_changes_expected_level(voila):
    page = voila
    assert "current level 7, expected level 4" in _headline(page).inner_text()  # the article's example
    assert page.get_by_text("0 (No pain)").first.is_visible()
    assert page.get_by_text("10 (Worst pain)").first.is_visible()
    assert page.locator(".painkit-disclaimer").first.is_visible()
    _move_slider(page, -3)
    _wait_text(page, ".painkit-headline", r"current level 4, expected level 2\b")
    _move_slider(page, +6)
    _wait_text(page, ".painkit-headline", r"current level 10, expected level 6\b")


def test_voila_progress_update_reaches_store_and_chart(voila, voila_store):
    page = voila
    before = _rows(voila_store, PATIENT)
    _choose_patient(page, PATIENT)
    _wait_text(page, ".painkit-headline", r"current level 8")  # the stored baseline
    image = page.locator("img.painkit-chart").first
    old_src = image.get_attribute("src")
    day = max(PLAN_START + dt.timedelta(days=1 + len(before)), TODAY - dt.timedelta(days=7))
    day = day if day <= TODAY else TODAY
    page.locator(".painkit-update-date input").fill(day.isoformat())
    page.locator(".painkit-update-date input").press("Tab")
    _submit_update(page, "5")
    _wait_text(page, ".painkit-message", r"stored: NRS 5")
    assert (day.isoformat(), 5) in _rows(voila_store, PATIENT)
    assert len(_rows(voila_store, PATIENT)) == len(before) + 1
    _wait_text(page, ".painkit-chart-caption", rf"latest NRS 5 on {day.isoformat()}")
    page.wait_for_function("([sel, old]) => document.querySelector(sel).getAttribute('src') !== old",
                           arg=["img.painkit-chart", old_src])
    assert re.search(rf"{day.isoformat()}", page.locator(".painkit-progress").first.inner_text())


def test_voila_bad_value_shows_message_and_writes_nothing(voila, voila_store):
    page = voila
    _choose_patient(page, PATIENT)
    before = _rows(voila_store, PATIENT)
    _submit_update(page, "11")
    _wait_text(page, ".painkit-message", r"NRS: 11 is outside the scale")
    assert page.get_by_role("alert").first.is_visible()
    page.locator(".painkit-update-date input").fill((TODAY + dt.timedelta(days=3)).isoformat())
    page.locator(".painkit-update-date input").press("Tab")
    _submit_update(page, "4")
    _wait_text(page, ".painkit-message", r"is in the future")
    assert _rows(voila_store, PATIENT) == before


# ---------------------------------------------------------------------------------- JupyterLab
def _run_all_cells(page) -> None:
    """Run > Run All Cells once the kernel is idle; again if the request was lost in start-up."""
    page.wait_for_function("() => /\\| Idle/.test(document.querySelector('.jp-StatusBar-Widget, #jp-main-statusbar')?.textContent || '')",
                           timeout=LOAD)
    for _ in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).first.click()
        try:  # the code cell's prompt turns to [*] (running) or [1] (done)
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))"
                ".some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))", timeout=60_000)
            return
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: try the menu again
            continue
    raise AssertionError("Run All Cells did not start the notebook")


def test_lab_run_all_then_slider_and_new_patient(page, lab):
    url, db = lab
    page.goto(f"{url}/lab/tree/tracker.ipynb", timeout=LOAD)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=LOAD)
    _run_all_cells(page)
    _wait_text(page, ".painkit-headline", r"current level 7, expected level 4", timeout=LOAD)
    _move_slider(page, +1)
    _wait_text(page, ".painkit-headline", r"current level 8, expected level 5\b")

    # an empty patient id: a message, nothing stored
    page.locator(".painkit-create").click()
    _wait_text(page, ".painkit-message", r"Patient id: required")
    assert _patients(db) == []

    # a new patient: stored with the slider's baseline
    box = page.locator(".painkit-new-id input")
    box.fill("L-1")
    box.press("Enter")
    page.locator(".painkit-create").click()
    _wait_text(page, ".painkit-message", r"Patient 'L-1' stored with baseline 8")
    assert _patients(db) == ["L-1"]
    assert _rows(db, "L-1") == [(TODAY.isoformat(), 8)]
    _wait_text(page, ".painkit-chart-caption", r"1 recorded score\(s\); latest NRS 8")
