"""The agents' API settings an operator can set: a public URL that is not one, and a long-poll that never looks,
are refused at start-up naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("GOVERNANCE_PUBLIC_URL", "governance.example.com",
     "GOVERNANCE_PUBLIC_URL must start with https:// or http://, got 'governance.example.com'"),
    ("GOVERNANCE_APPROVAL_WAIT_RECHECK_MS", "0",
     "GOVERNANCE_API_MAX_WAIT_SECONDS must be 0 or more and GOVERNANCE_APPROVAL_WAIT_RECHECK_MS more than 0"),
])
def test_an_unusable_api_setting_is_refused_at_start_up(tmp_path, variable, value, expected):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "GOVERNANCE_VAR_DIR": str(tmp_path),
           variable: value}
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert (done.returncode != 0, expected in done.stderr) == (True, True), done.stderr[-500:]
