"""The recovery settings an operator can set: beat schedules the pass, and a stall window too short is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]


def test_beat_sends_the_recovery_pass_every_interval(settings):
    entry = app.conf.beat_schedule["recover-stalled-runs"]
    assert entry["task"] == "runs.recover_stalled_runs"
    assert entry["schedule"] == float(settings.GOVERNANCE_RUN_RECOVERY_INTERVAL_SECONDS) == 5.0


def test_stall_window_shorter_than_two_heartbeats_is_refused(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "GOVERNANCE_VAR_DIR": str(tmp_path),
           "GOVERNANCE_RUN_HEARTBEAT_SECONDS": "10", "GOVERNANCE_RUN_STALL_SECONDS": "15"}
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    expected = "GOVERNANCE_RUN_STALL_SECONDS (15) must be at least twice GOVERNANCE_RUN_HEARTBEAT_SECONDS (10)"
    assert expected in done.stderr
