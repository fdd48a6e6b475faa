"""The production profile (DEBUG false) as an operator starts it: deploy checks, SECRET_KEY, static files.

Settings are read once per process, so each case runs `manage.py` (or a short script) in a child
process with the environment a deployment would give it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Variables a developer's shell (or the PostgreSQL test phase) may have set that would change the profile.
_UNSET = ("DATABASE_URL", "DEBUG", "GOVERNANCE_PROFILE", "SECRET_KEY", "ALLOWED_HOSTS", "STATIC_ROOT",
          "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS", "SECURE_HSTS_PRELOAD",
          "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_INCLUDE_SUBDOMAINS")


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _UNSET}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "governance.example.com,testserver",
        "GOVERNANCE_PUBLIC_URL": "https://governance.example.com",
        "GOVERNANCE_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
    })
    env.update(overrides)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    """A STATIC_ROOT filled by `collectstatic` as the release step does; pages need its manifest."""
    root = tmp_path_factory.mktemp("deploy")
    done = _run(["manage.py", "collectstatic", "--noinput"], _production_env(root))
    assert done.returncode == 0, done.stdout + done.stderr
    return root / "static"


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    done = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
    assert "WARNINGS" not in done.stdout + done.stderr


def test_check_deploy_warns_without_a_public_url_for_notification_links(tmp_path):
    done = _run(["manage.py", "check", "--deploy"], _production_env(tmp_path, GOVERNANCE_PUBLIC_URL=""))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(notifications.W001) GOVERNANCE_PUBLIC_URL is not set" in done.stderr + done.stdout


def test_production_without_secret_key_refuses_to_start(tmp_path):
    env = _production_env(tmp_path)
    del env["SECRET_KEY"]
    done = _run(["manage.py", "check"], env)
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith(
        "django.core.exceptions.ImproperlyConfigured: SECRET_KEY must be set in the production profile"
    )


_REQUESTS = (
    "import django; django.setup()\n"
    "from django.test import Client\n"
    "client = Client()\n"
    "plain = client.get('/accounts/login/')\n"
    "proxied = client.get('/accounts/login/', headers={'X-Forwarded-Proto': 'https'})\n"
    "secure = client.get('/accounts/login/', secure=True)\n"
    "print(plain.status_code, plain.headers.get('Location'), proxied.status_code,"
    " secure.headers.get('Strict-Transport-Security'), secure.cookies['csrftoken']['secure'])\n"
)


def test_production_redirects_plain_http_and_sets_hsts(tmp_path, static_root):
    done = _run(["-c", _REQUESTS], _production_env(tmp_path, STATIC_ROOT=str(static_root)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "301", "https://testserver/accounts/login/", "301", "max-age=3600;", "includeSubDomains", "True",
    ]


def test_behind_a_tls_proxy_the_forwarded_proto_is_trusted_when_configured(tmp_path, static_root):
    env = _production_env(tmp_path, STATIC_ROOT=str(static_root),
                          SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https")
    done = _run(["-c", _REQUESTS], env)
    assert done.returncode == 0, done.stderr
    plain, _location, proxied = done.stdout.split()[:3]
    assert (plain, proxied) == ("301", "200")
    no_redirect = _run(["-c", _REQUESTS], {**env, "SECURE_SSL_REDIRECT": "false"})
    assert no_redirect.stdout.split()[0] == "200", no_redirect.stderr


def test_collectstatic_then_pages_and_assets_are_served_without_debug(tmp_path, static_root):
    env = _production_env(tmp_path, STATIC_ROOT=str(static_root))
    assert (static_root / "staticfiles.json").exists()
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "from django.templatetags.static import static\n"
        "client = Client()\n"
        "page = client.get('/accounts/login/', secure=True)\n"
        "css = static('css/app.css')\n"
        "asset = client.get(css, secure=True)\n"
        "print(page.status_code, css in page.content.decode(), css, asset.status_code,"
        " asset.headers['Cache-Control'])\n"
    )
    served = _run(["-c", script], env)
    assert served.returncode == 0, served.stderr
    page_status, linked, css_url, asset_status, cache = served.stdout.split(" ", 4)
    assert (page_status, linked, asset_status) == ("200", "True", "200")
    assert css_url.startswith("/static/css/app.") and css_url != "/static/css/app.css"  # content-hashed name
    assert "immutable" in cache


@pytest.mark.parametrize("value", ["https", "HTTP_X_FORWARDED_PROTO"])
def test_malformed_proxy_header_is_refused(tmp_path, value):
    done = _run(["manage.py", "check"], _production_env(tmp_path, SECURE_PROXY_SSL_HEADER=value))
    assert done.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER must be 'HEADER,value'" in done.stderr


@pytest.mark.parametrize(("allow", "expected"), [(None, "False"), ("true", "True")])
def test_observe_only_domains_are_refused_in_production_unless_allowed(tmp_path, allow, expected):
    env = _production_env(tmp_path)
    env.pop("GOVERNANCE_ALLOW_OBSERVE_ONLY", None)
    if allow is not None:
        env["GOVERNANCE_ALLOW_OBSERVE_ONLY"] = allow
    done = _run(["-c", "import django; django.setup(); from django.conf import settings; "
                       "print(settings.GOVERNANCE_ALLOW_OBSERVE_ONLY)"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
