"""The dashboard in a real headless browser: Debian's Chromium driven by PyPI Playwright.

Recipe: shared/BROWSER_TESTS.md. ``make test`` installs /usr/bin/chromium first (``make
browser-deps``), so this test fails rather than skips when the browser is missing. Never run
``playwright install``.
"""

from __future__ import annotations

import os
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


@pytest.mark.browser
def test_compare_in_browser(streamlit_url):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: run `make browser-deps`"
    ARTIFACTS.mkdir(exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(streamlit_url, wait_until="domcontentloaded")
            page.get_by_text("domlab decision dashboard").first.wait_for(timeout=30_000)
            run = page.get_by_role("button", name="Run / compare")
            run.wait_for(timeout=30_000)
            run.click()

            page.get_by_text("Key performance indicators").wait_for(timeout=45_000)
            table = page.locator("[data-testid='stTable'] table").first
            table.wait_for(timeout=20_000)
            header = table.locator("thead").inner_text()
            assert "omnichannel" in header and "omnichannel_cost_first" in header
            body = table.locator("tbody").inner_text()
            for kpi in ("Orders", "Total cost per order", "Fulfilment cost per order",
                        "On-time delivery", "Node utilisation"):
                assert kpi in body
            # every report chart is an <img>; wait until all have loaded
            images = page.locator("[data-testid='stImage'] img")
            page.wait_for_function(
                "() => { const im = [...document.querySelectorAll(\"[data-testid='stImage'] "
                "img\")]; return im.length >= 7 && im.every(i => i.complete && "
                "i.naturalWidth > 0); }", timeout=30_000)
            assert images.count() >= 7
            for title in ("Cost per order", "Carrier service mix", "Node utilisation"):
                assert page.get_by_text(title, exact=True).count() >= 1
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.locator("[data-testid='stAlertContentError']").count() == 0
            page.get_by_text("Done: 2 runs").wait_for(timeout=5_000)
            # Streamlit scrolls inside its own container: grow the viewport to the content
            height = page.evaluate(
                "() => Math.max(...[...document.querySelectorAll(\"[data-testid='stMain'], "
                "[data-testid='stAppViewContainer'], body\")].map(e => e.scrollHeight))")
            page.set_viewport_size({"width": 1500, "height": min(int(height) + 40, 12_000)})
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)

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
