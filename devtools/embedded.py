"""The embedded stack (`python -m config.embedded`) as a child process: start it, wait until it
serves, stop it as a user would. For the browser tests and the benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from config.embedded import ROOT


def launch(*, port: int, var_dir: Path, log) -> subprocess.Popen:
    """Start `python -m config.embedded` as a child, in its own session (so `shut_down` can stop it whole)."""
    env = {**os.environ, "PORT": str(port), "GOVERNANCE_VAR_DIR": str(var_dir), "CHANNEL_LAYER": "redis"}
    return subprocess.Popen([sys.executable, "-m", "config.embedded"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_until_serving(url: str, proc: subprocess.Popen, timeout: float = 90) -> bool:
    """True once `url` answers 200; False if the stack exited or the time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def shut_down(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Ctrl-C the stack as a user would; kill its whole session if it does not stop in time."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
