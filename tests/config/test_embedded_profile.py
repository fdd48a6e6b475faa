"""The embedded profile as `python3 dev.py start` runs it: DEBUG off unless asked for, a secret key
generated once and kept in the var directory, plain HTTP on loopback and nowhere else.

Settings are read once per process, so each case runs a short script in a child process.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_UNSET = ("DATABASE_URL", "DEBUG", "GOVERNANCE_PROFILE", "SECRET_KEY", "ALLOWED_HOSTS")
_SHOW = (
    "import django; django.setup()\n"
    "from django.conf import settings\n"
    "from django.test import Client\n"
    "page = Client().get('/accounts/login/')\n"
    "print(settings.GOVERNANCE_PROFILE, settings.DEBUG, settings.SECRET_KEY, page.status_code,"
    " page.cookies['csrftoken']['secure'] or 'plain')\n"
)


def _show(var_dir: Path, **env: str) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items() if key not in _UNSET}
    base.update({"DJANGO_SETTINGS_MODULE": "config.settings", "GOVERNANCE_VAR_DIR": str(var_dir), **env})
    return subprocess.run([sys.executable, "-c", _SHOW], cwd=ROOT, env=base, capture_output=True, text=True,
                          timeout=120)


def test_embedded_profile_runs_without_debug_on_plain_http_with_a_kept_generated_key(tmp_path):
    first, again = _show(tmp_path, GOVERNANCE_PROFILE="embedded"), _show(tmp_path)
    assert first.returncode == 0, first.stderr
    profile, debug, key, status, cookie = first.stdout.split()
    assert (profile, debug, status, cookie) == ("embedded", "False", "200", "plain")
    assert len(key) >= 50 and key != "embedded-profile-insecure-key-change-me"
    assert again.stdout == first.stdout  # the same key for every process, and after a restart
    key_file = tmp_path / "secret_key"
    assert key_file.read_text() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert _show(tmp_path / "other").stdout.split()[2] != key  # each var directory has its own


def test_embedded_profile_shows_debug_pages_only_when_a_developer_asks(tmp_path):
    done = _show(tmp_path, GOVERNANCE_PROFILE="embedded", DEBUG="true")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:2] == ["embedded", "True"]


def test_embedded_profile_refuses_to_serve_other_hosts(tmp_path):
    done = _show(tmp_path, GOVERNANCE_PROFILE="embedded", ALLOWED_HOSTS="governance.example.com")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: GOVERNANCE_PROFILE=embedded serves this machine only "
        "(plain HTTP, a generated key), but ALLOWED_HOSTS names governance.example.com. To serve other machines, "
        "set GOVERNANCE_PROFILE=production with SECRET_KEY (see docs/operations.md)."
    )
    assert not (tmp_path / "secret_key").exists()


def test_profile_follows_allowed_hosts_when_not_given(tmp_path):
    done = _show(tmp_path, ALLOWED_HOSTS="governance.example.com")
    assert done.returncode != 0  # a real host name: production, which wants SECRET_KEY
    assert "SECRET_KEY must be set in the production profile" in done.stderr.strip().splitlines()[-1]
