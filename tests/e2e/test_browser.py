"""The dashboard in a real headless browser: Debian's Chromium driven by PyPI Playwright.

Recipe: shared/BROWSER_TESTS.md. ``make test`` installs /usr/bin/chromium first (``make
browser-deps``), so this test fails rather than skips when the browser is missing. Never run
``playwright install``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not open port {port} within {timeout:.0f} s")


@pytest.fixture
def streamlit_url(tmp_path):
    """``streamlit run app.py`` on a free local port; stopped by its own pid afterwards."""
    port = _free_port()
    env = {**os.environ, "DOMLAB_RUNS_DIR": str(tmp_path / "runs"),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


VENDOR_A = b"extends: omnichannel.yaml\nname: vendor_a\npolicies: {sourcing: routing/cost_first}\n"
VENDOR_B = b"extends: omnichannel.yaml\nname: vendor_b\npolicies: {split: split/cost_based}\n"


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` (type it, then Enter)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    box = page.locator("[data-testid='stSelectbox']:visible").filter(has_text=label).first
    box.wait_for(timeout=20_000)
    # A rerun of the page can close the open list under load: open it again, up to 3 times.
    for attempt in range(3):
        box.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(option)
        try:
            page.get_by_role("option", name=option).first.wait_for(timeout=15_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            if attempt == 2:
                raise
    page.keyboard.press("Enter")
    # The box holds the choice once the widget has taken it (a fixed pause alone raced a busy
    # machine: a run started before the what-if was chosen); then the page reruns.
    expect(box.get_by_role("combobox")).to_have_value(option, timeout=20_000)
    page.wait_for_timeout(1_500)


def _choose_until(page, label: str, option: str, runs_as: str) -> None:
    """Pick ``option`` until the app itself says the slot runs as ``runs_as``: the server has
    taken the choice. Under load a rerun can replace the widgets between the pick and its
    rerun (the pick then lands on a widget that is gone), so pick again, up to 3 times."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    shown = page.get_by_text(f"Runs as “{runs_as}”:", exact=False)
    for attempt in range(3):
        _choose(page, label, option)
        try:
            shown.first.wait_for(timeout=20_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def _grow(page) -> None:
    """Streamlit scrolls inside its own container: grow the viewport to the content."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll(\"[data-testid='stMain'], "
        "[data-testid='stAppViewContainer'], body\")].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": 1500, "height": min(int(height) + 40, 12_000)})
    page.wait_for_timeout(500)


def _hover_until_tooltip(page, chart) -> bool:
    """Sweep the mouse over ``chart`` until Vega's tooltip shows."""
    box = chart.bounding_box()
    tip = page.locator("#vg-tooltip-element.visible")
    for fy in (0.55, 0.7, 0.4, 0.8, 0.3):
        for fx in (0.15, 0.25, 0.35, 0.45, 0.55, 0.65):
            page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
            page.wait_for_timeout(200)
            if tip.count() and tip.first.is_visible():
                return True
    return False


@pytest.mark.browser
def test_compare_in_browser(streamlit_url, tmp_path):
    """Two uploaded vendor policy files side by side, a what-if on the second; the summary
    row, a chart tooltip on hover, the CSV export equal to the runs' kpis.json, the what-if's
    scenario YAML re-run by the CLI to the same kpis.json, and the drill-down to an order."""
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: run `make browser-deps`"
    ARTIFACTS.mkdir(exist_ok=True)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "vendor_a.yaml").write_bytes(VENDOR_A)
    (uploads / "vendor_b.yaml").write_bytes(VENDOR_B)
    runs = tmp_path / "runs"
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000},
                                    accept_downloads=True)
            page.on("request", lambda r: requests.append(r.url))
            page.goto(streamlit_url, wait_until="domcontentloaded")
            page.get_by_text("domlab decision dashboard").first.wait_for(timeout=30_000)
            # two uploads, kept together
            page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
                [str(uploads / "vendor_a.yaml"), str(uploads / "vendor_b.yaml")])
            page.get_by_text("pick 'upload: vendor_b' below").wait_for(timeout=30_000)
            _choose_until(page, "Scenario A", "upload: vendor_a", "vendor_a")
            _choose_until(page, "Scenario B", "upload: vendor_b", "vendor_b")
            # a what-if on B: DC-RENO closed
            page.locator("[data-testid='stExpander'] summary").filter(
                has_text="What-if").nth(1).click()
            label_b = "vendor_b (DC-RENO closed)"
            _choose_until(page, "Close a node", "DC-RENO", label_b)
            run = page.get_by_role("button", name="Run / compare")
            run.wait_for(timeout=30_000)
            run.click()

            page.get_by_text("Key performance indicators").wait_for(timeout=60_000)
            table = page.locator("[data-testid='stTable'] table").first
            table.wait_for(timeout=20_000)
            # The table of an earlier rerun can still be on the page: wait for this run's.
            expect(table.locator("thead")).to_contain_text(label_b, timeout=60_000)
            header = table.locator("thead").inner_text()
            assert "vendor_a" in header and label_b in header
            body = table.locator("tbody").inner_text()
            for kpi in ("Orders", "Total cost per order", "On-time delivery",
                        "Node utilisation", "Return rate"):
                assert kpi in body
            util = next(r for r in body.splitlines() if r.startswith("Node utilisation"))
            assert all(0 < float(x) <= 100 for x in re.findall(r"\t([0-9.]+)(?=\t|$)", util)
                       [:2]), util
            # the summary row: one card per headline KPI, with a verdict
            metrics = page.locator("[data-testid='stMetric']")
            metrics.first.wait_for(timeout=20_000)
            assert metrics.count() == 7
            assert "one run: not tested" in metrics.first.inner_text()
            page.get_by_text("Done: 2 runs").wait_for(timeout=30_000)
            # every chart is an interactive Vega-Lite chart; a tooltip shows on hover
            charts = page.locator("[data-testid='stVegaLiteChart']")
            page.wait_for_function(
                "() => document.querySelectorAll(\"[data-testid='stVegaLiteChart'] "
                "canvas, [data-testid='stVegaLiteChart'] svg\").length >= 7", timeout=30_000)
            assert charts.count() == 7
            cost = charts.first
            cost.scroll_into_view_if_needed()
            assert _hover_until_tooltip(page, cost), "no tooltip on the cost chart"
            tip = page.locator("#vg-tooltip-element").inner_text()
            assert "$ per order" in tip
            cost.screenshot(path=str(ARTIFACTS / "chart_tooltip.png"))
            page.locator("#vg-tooltip-element").evaluate("e => e.classList.remove('visible')")
            # CSV export: the numbers kpis.json holds
            with page.expect_download() as dl:
                page.get_by_role("button", name="KPI table (CSV)").click()
            csv_path = tmp_path / "kpis.csv"
            dl.value.save_as(csv_path)
            import pandas as pd
            export = pd.read_csv(csv_path)
            saved = {}
            for f in runs.glob("*/kpis.json"):
                k = json.loads(f.read_text())
                saved[k["scenario"]] = k["kpis"]
                assert max(k["breakdowns"]["node_utilisation_pct"].values()) <= 100.0
            a_rows = export[export["scenario"] == "vendor_a"].set_index("kpi")["value"]
            assert len(a_rows) == len(saved["vendor_a"])
            for kpi, value in saved["vendor_a"].items():
                assert a_rows[kpi] == value, kpi
            b_rows = export[export["scenario"] == label_b].set_index("kpi")["value"]
            for kpi, value in saved["vendor_b"].items():
                assert b_rows[kpi] == value, kpi
            # the what-if's scenario YAML re-runs by the CLI to the same kpis.json
            with page.expect_download() as dl:
                page.get_by_role("button", name="Scenario YAML").nth(1).click()
            yaml_path = tmp_path / "whatif.yaml"
            dl.value.save_as(yaml_path)
            cli_out = tmp_path / "cli"
            done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(yaml_path),
                                   "--engine", "compiled", "--out", str(cli_out)],
                                  cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
            (cli_kpis,) = list(cli_out.glob("*/kpis.json"))
            app_kpis = runs / cli_kpis.parent.name / "kpis.json"
            assert cli_kpis.read_bytes() == app_kpis.read_bytes()
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.locator("[data-testid='stAlertContentError']").count() == 0
            summary = page.get_by_text("Summary", exact=True)
            summary.scroll_into_view_if_needed()
            boxes = [metrics.nth(i).bounding_box() for i in range(metrics.count())]
            top = summary.bounding_box()["y"] - 8
            bottom = max(b["y"] + b["height"] for b in boxes) + 130
            page.screenshot(path=str(ARTIFACTS / "summary.png"),
                            clip={"x": 0, "y": top, "width": 1500, "height": bottom - top})
            _grow(page)
            page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
            page.set_viewport_size({"width": 1500, "height": 1000})

            # drill-down: select an order whose decision changed, see its timeline
            page.get_by_role("tab", name="Drill-down").click()
            grid = page.locator("[data-testid='stDataFrame']:visible").first
            grid.wait_for(timeout=20_000)
            page.wait_for_timeout(800)
            box = grid.bounding_box()
            page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)   # first row's selector
            page.get_by_text(re.compile(r"^Order \d+$")).first.wait_for(timeout=20_000)
            page.get_by_text("Rule decisions").first.wait_for(timeout=20_000)
            page.get_by_text(re.compile(r"^Order \d+$")).first.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "drilldown.png"))

            # the map draws nodes and flows with deck.gl and no basemap (nothing to download)
            page.get_by_role("tab", name="Map & flows").click()
            page.locator("[data-testid='stDeckGlJsonChart'] canvas").first.wait_for(
                timeout=20_000)
            page.wait_for_timeout(1_000)
            assert page.locator("[data-testid='stException']").count() == 0
            page.screenshot(path=str(ARTIFACTS / "map.png"))
        finally:
            browser.close()
    external = {urlparse(u).hostname for u in requests
                if urlparse(u).scheme in ("http", "https", "ws", "wss")} - {"127.0.0.1"}
    assert not external, f"the page reached out to {sorted(external)}"
    assert (ARTIFACTS / "app.png").stat().st_size > 50_000
