"""Production settings: `check --deploy` is clean, and a bad environment stops the process.

Each case runs `manage.py` in a subprocess, because settings are read once per process and
the test run's own settings must not leak into what is checked.
"""

from __future__ import annotations

import secrets
import subprocess

from tests.deploy.topology import PYTHON, REPO, app_env


def production_env(**overrides: str) -> dict[str, str]:
    """What docs/deploy.md tells an operator to set behind TLS."""
    values = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "chat.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://chat.example.com",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "SECURE_HSTS_PRELOAD": "1",
        "SIMULATOR_MOUNT": "0",
    }
    values.update(overrides)
    return app_env(**values)


def run_manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_deploy_check_is_clean_with_production_settings() -> None:
    result = run_manage(production_env(), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_check_fails_without_https_settings() -> None:
    # The check above must be able to fail: the same environment with HSTS off warns.
    env = production_env(SECURE_HSTS_SECONDS="0", SECURE_SSL_REDIRECT="0")
    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W004" in result.stderr
    assert "security.W008" in result.stderr


def test_a_missing_secret_key_stops_a_production_process() -> None:
    env = production_env()
    del env["SECRET_KEY"]
    result = run_manage(env, "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_a_bad_boolean_stops_the_process() -> None:
    result = run_manage(production_env(SECURE_SSL_REDIRECT="sometimes"), "check")
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT must be a boolean" in result.stderr
    assert "'sometimes'" in result.stderr


def test_a_bad_number_stops_the_process() -> None:
    result = run_manage(production_env(SECURE_HSTS_SECONDS="a year"), "check")
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS must be an integer" in result.stderr
