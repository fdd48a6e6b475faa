"""The whole product as a user runs it (`python -m config.embedded`), and a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory):
    """Start the embedded stack on a free port with its own var dir; stop it after the session."""
    port = _free_port()
    var_dir = tmp_path_factory.mktemp("embedded-var")
    env = {**os.environ, "PORT": str(port), "GOVERNANCE_VAR_DIR": str(var_dir), "CHANNEL_LAYER": "redis"}
    log = open(var_dir / "stack.log", "w")  # noqa: SIM115 - closed in the finalizer below
    proc = subprocess.Popen([sys.executable, "-m", "config.embedded"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/accounts/login/", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.flush()
            proc.kill()
            pytest.fail(f"the embedded stack did not come up:\n{(var_dir / 'stack.log').read_text()[-3000:]}")
        time.sleep(0.3)
    yield {"url": url, "proc": proc, "var_dir": var_dir}
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
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
