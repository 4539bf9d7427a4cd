"""The HTML report in a real browser (headless Chromium, driven by Playwright): the matrix has a
cell per (check, server), a cell's link opens its evidence, the filters hide what they should,
and a screenshot is saved to reports/out/screenshot.png.

By default the report comes from a short real suite run on `inmemory` in a temporary folder;
`tox -e report` points WSCONFORM_REPORT at reports/out/index.html to check the real one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "reports" / "out" / "screenshot.png"
REPORT_ENV = "WSCONFORM_REPORT"
# Debian's package, Ubuntu's, and the Chrome that GitHub's runners ship.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM = next((found for name in BROWSER_NAMES if (found := shutil.which(name))), None)

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed (Debian: apt-get install chromium); the report's browser"
        " self-test needs it",
    ),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get(REPORT_ENV):
        given = Path(os.environ[REPORT_ENV])
        if not given.exists():
            pytest.fail(f"{REPORT_ENV}={given} does not exist: run `tox -e suite` first")
        return given
    out = tmp_path_factory.mktemp("report")
    command = [
        sys.executable, "-m", "pytest", "conformance/suite/test_scenarios.py", "-q",
        "-p", "no:cacheprovider", "--server", "inmemory,testclient",
        "-k", "close-before-accept or text-both-ways",
        "--results", str(out / "results.json"), "--no-baseline-gate",
    ]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (out / "index.html").exists(), run.stdout + run.stderr
    return out / "index.html"


@pytest.fixture(scope="module")
def index(report: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((report.parent / "index.json").read_text())
    return loaded


@pytest.fixture(scope="module")
def page(report: Path) -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(report.resolve().as_uri())
            yield page
        finally:
            browser.close()


def test_the_matrix_has_a_cell_per_check_and_server(page: Any, index: dict[str, Any]) -> None:
    shown = {
        (cell["check"], cell["server"]): cell["verdict"]
        for cell in page.eval_on_selector_all(
            "#matrix-table td.cell",
            """cells => cells.map(cell => ({check: cell.closest('tr').dataset.check,
                server: cell.dataset.server, verdict: cell.dataset.verdict}))""",
        )
    }
    servers = index["servers"] + sorted(index["unavailable_servers"])
    # Every check of the catalogue has a row; a check this run did not exercise shows "none".
    expected = {(check["id"], server): "none" for check in index["checks"] for server in servers}
    expected.update({(row["check"], row["server"]): row["verdict"] for row in index["results"]})
    assert (len(shown), shown) == (len(index["checks"]) * len(servers), expected)


def test_a_cells_link_opens_its_evidence(page: Any, index: dict[str, Any]) -> None:
    worst = sorted(index["results"], key=lambda row: row["verdict"] != "fail")[0]
    row = page.locator(f'#matrix-table tr[data-check="{worst["check"]}"]')
    row.locator(f'td.cell[data-server="{worst["server"]}"] a').click()
    evidence = page.locator(f'details[id="ev--{worst["check"]}--{worst["server"]}"]')
    summary = evidence.locator("summary").text_content() or ""
    in_view = page.evaluate(
        "id => { const r = document.getElementById(id).getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight; }",
        f"ev--{worst['check']}--{worst['server']}",
    )
    assert (evidence.get_attribute("open"), evidence.is_visible(), in_view) == ("", True, True)
    assert worst["verdict"] in summary and worst["server"] in summary, summary


def test_filters_hide_passing_rows_and_other_servers(page: Any, index: dict[str, Any]) -> None:
    failing = {row["check"] for row in index["results"] if row["verdict"] in ("fail", "non-strict")}
    page.click("#only-failures")
    visible_rows = set(
        page.eval_on_selector_all(
            "#matrix-table tbody tr",
            "rows => rows.filter(r => !r.hidden).map(r => r.dataset.check)",
        )
    )
    server = index["servers"][-1]
    page.select_option("#server-filter", server)
    visible_servers = set(
        page.eval_on_selector_all(
            "#matrix-table thead th[data-server]",
            "cells => cells.filter(c => !c.hidden).map(c => c.dataset.server)",
        )
    )
    # Back to everything for the screenshot, which shows the summary and the matrix.
    page.select_option("#server-filter", "")
    page.eval_on_selector_all(".verdict-filter", "boxes => boxes.forEach(b => b.checked = true)")
    page.locator(".verdict-filter").first.dispatch_event("change")
    page.evaluate("window.scrollTo(0, 0)")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert (visible_rows, visible_servers) == (failing, {server})
