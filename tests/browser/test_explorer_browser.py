"""The evidence explorer served by Voila, driven by headless Chromium."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

LOAD = 240_000


def _wait_text(page, selector: str, pattern: str, timeout: float = 120_000) -> None:
    page.wait_for_function(
        "([sel, pat]) => { const e = document.querySelector(sel); return !!e && new RegExp(pat).test(e.textContent); }",
        arg=[selector, pattern], timeout=timeout)


def test_explorer_switch_slider_and_filter(page, explorer_url):
    import painkit

    page.goto(explorer_url, timeout=LOAD)
    _wait_text(page, ".painkit-comparison", r"baseline of 7", timeout=LOAD)
    combined = painkit.estimate(7, "cbt+pt", combine="independent").expected
    page.get_by_role("button", name="independent").click()
    _wait_text(page, ".painkit-comparison", rf"cbt\+pt[\s\S]*?{combined:.1f}[\s\S]*?independent")
    handle = page.locator(".widget-slider .noUi-handle").first
    handle.focus()
    page.keyboard.press("ArrowLeft")
    _wait_text(page, ".painkit-comparison", r"baseline of 6")
    page.locator(".painkit-explorer select").first.select_option("pilot")
    _wait_text(page, ".painkit-evidence-table", r"^(?![\s\S]*Cognitive-behavioral)[\s\S]*Virtual-reality")
    text = page.locator(".painkit-evidence-table").first.text_content()
    assert "pilot" in text and "Cognitive-behavioral" not in text
    page.wait_for_selector("img.painkit-chart", state="attached")
