"""The viewer in a real headless browser (Debian's Chromium driven by Playwright): pages load with no
console error and no request beyond the file, a trial's critiques and search tree are there, the arm
page's status filter works, and an arm of 1,000 trials loads in under 2 s. Screenshots of a modulo
trial, a search trial and an arm's list go to the folder printed (``LLM_MODULO_VIEW_SHOTS`` chooses it)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from test_view import build_store, key_of

from llm_modulo.experiments.view import write_view

CHROMIUM = os.environ.get("LLM_MODULO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARM = 1000


@pytest.fixture(scope="module")
def browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; the test extra has it)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as pw:
        # --no-sandbox: CI and the dev machines run as root, where Chromium's sandbox refuses to start
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("LLM_MODULO_VIEW_SHOTS") or tmp_path_factory.mktemp("view-shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Watched:
    """A page whose console errors, uncaught exceptions and non-file requests are collected."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.problems: list[str] = []
        self.page.on(
            "console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on(
            "request", lambda r: None if r.url.startswith("file:") else self.problems.append(f"request {r.url}")
        )

    def open(self, path: Path) -> float:
        started = time.perf_counter()
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        return time.perf_counter() - started

    def close(self) -> None:
        assert not self.problems, self.problems
        assert self.page.evaluate("window.__xss === undefined"), "a model's text ran as script"
        self.page.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("view-browser") / "trials.sqlite", arm_size=ARM)


def test_trial_pages_show_critiques_and_the_tree(browser, store, shots, tmp_path, capsys):
    modulo = write_view(store, tmp_path / "modulo.html", trial=key_of(store, "modulo")).main
    search = write_view(store, tmp_path / "search.html", trial=key_of(store, "search")).main
    w = Watched(browser)
    w.open(modulo)
    assert w.page.locator(".round").count() == 2
    assert w.page.locator("ul.critique li").count() >= 2
    assert w.page.locator("pre.backprompt").first.inner_text().strip()
    assert "<script>window.__xss=1</script>" in w.page.locator(".sample pre").nth(1).inner_text()
    w.page.screenshot(path=str(shots / "modulo-trial.png"), full_page=True)
    w.open(search)
    assert w.page.locator("ul.tree li.node").count() >= 10
    assert w.page.locator("li.pruned").count() >= 1
    assert w.page.locator("ol.path li").count() >= 2
    w.page.locator("details.node:not([open]) > summary").first.click()  # a collapsed branch opens
    w.page.screenshot(path=str(shots / "search-trial.png"), full_page=True)
    w.close()
    with capsys.disabled():
        print(f"\nviewer screenshots: {shots}")


def test_arm_of_1000_loads_fast_and_filters_by_status(browser, store, shots, tmp_path, capsys):
    files = write_view(store, tmp_path / "arm", arm="big", with_recheck=False)
    assert files.trials == ARM
    w = Watched(browser)
    seconds = w.open(files.main)
    load_ms = w.page.evaluate(
        "(() => { const t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd - t.startTime; })()"
    )
    assert seconds < 2.0 and load_ms < 2000, (seconds, load_ms)
    rows = w.page.locator("#trials tbody tr")
    assert rows.count() == ARM and w.page.locator("#shown").inner_text() == str(ARM)
    w.page.locator("input.status-filter[value=verified]").uncheck()
    w.page.locator("input.status-filter[value=error]").uncheck()
    assert w.page.locator("#shown").inner_text() == str(ARM // 2)
    assert w.page.locator("#trials tbody tr:not([hidden])").count() == ARM // 2
    statuses = set(w.page.eval_on_selector_all("#trials tbody tr:not([hidden])", "rs => rs.map(r => r.dataset.status)"))
    assert statuses == {"exhausted", "failed"}
    w.page.locator("#text-filter").fill("sussman-997")  # find by instance: 997 is exhausted
    assert w.page.locator("#shown").inner_text() == "1"
    w.page.locator("#text-filter").fill("")
    w.page.locator("input.status-filter[value=verified]").check()
    w.page.screenshot(path=str(shots / "arm-list.png"))
    w.page.locator("#trials tbody tr:not([hidden]) a").first.click()  # into a trial and back
    w.page.wait_for_load_state("load")
    assert w.page.locator("h2", has_text="Rounds").count() == 1
    w.page.locator("a", has_text="all trials").click()
    w.page.wait_for_load_state("load")
    assert w.page.locator("#trials").count() == 1
    w.close()
    with capsys.disabled():
        print(
            f"\narm of {ARM} trials: loaded in {seconds:.3f} s ({load_ms:.0f} ms to the load event); screenshots: {shots}"
        )
