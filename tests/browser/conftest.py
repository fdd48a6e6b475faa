"""The whole product as a user runs it (`python -m config.embedded`), and a real headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from config.embedded import ROOT, free_port
from config.env import env_bool
from devtools.embedded import launch, shut_down, wait_until_serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Tracked pictures (the README shows them) are rewritten only on request, so a test run leaves the
# checkout as it found it; otherwise they go to var/, which git ignores.
SCREENSHOTS = ROOT / ("docs" if env_bool("UPDATE_SCREENSHOTS") else "var") / "screenshots"


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory):
    """Start the embedded stack on a free port with its own var dir; stop it after the session."""
    port = free_port()
    var_dir = tmp_path_factory.mktemp("embedded-var")
    log = open(var_dir / "stack.log", "w")  # noqa: SIM115 - closed after the stack stops
    proc = launch(port=port, var_dir=var_dir, log=log)
    url = f"http://127.0.0.1:{port}"
    if not wait_until_serving(f"{url}/accounts/login/", proc):
        shut_down(proc)
        log.close()
        pytest.fail(f"the embedded stack did not come up:\n{(var_dir / 'stack.log').read_text()[-3000:]}")
    yield {"url": url, "proc": proc, "var_dir": var_dir}
    shut_down(proc)
    log.close()


@pytest.fixture(scope="module")
def chromium():
    """Module-scoped: Playwright's sync API holds an event loop until it exits, which would break
    every asyncio test that runs after it."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is needed for the browser tests: run `apt-get install -y chromium` as root "
                    "(python3 dev.py test does this when it runs as root).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def login(browser, url: str, username: str, password: str):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/runs/")
    return page


def start_run_in_browser(page, url: str, prompt: str, tool: str, *, until: str = "completed") -> None:
    """Start a run from the form with one tool and wait on its page until its status reads `until`."""
    from playwright.sync_api import expect

    page.goto(f"{url}/runs/new/")
    page.fill("textarea[name=prompt]", prompt)
    page.check(f"input[name=tools][value={tool}]")
    page.click("#start-run")
    page.wait_for_url(f"{url}/runs/*/")
    expect(page.locator("#run-status .badge").first).to_have_text(until, timeout=20_000)


def screenshot(page, name: str) -> None:
    """Save a full-page screenshot under SCREENSHOTS (docs/screenshots/ with UPDATE_SCREENSHOTS=1)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
