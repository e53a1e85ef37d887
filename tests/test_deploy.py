"""Production settings, the container image and the compose topology.

Settings: `check --deploy` is clean with what docs/deploy.md tells an operator to set, and a
bad environment stops the process. Each case runs `manage.py` in a subprocess, because
settings are read once per process and the test run's own settings must not leak in.

Image and compose: Docker is not needed to read them. The tests check what a typo would
break only at deploy time: a variable compose passes that the app does not know, a command
that does not exist, a service without a healthcheck, an nginx upstream with no service.
"""

from __future__ import annotations

import importlib.util
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import get_commands

from tests.deploy.topology import PYTHON, REPO, app_env, free_port

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = REPO / ".env.example"
PROBE = REPO / "deploy" / "probe.py"
DEPLOY_DOC = REPO / "docs" / "deploy.md"
# Services that run for good; `migrate` is a one-shot step.
LONG_RUNNING = {"nginx", "web1", "web2", "worker", "simulator", "redis", "postgres"}
APP_SERVICES = {"web1", "web2", "worker", "migrate"}


def documented_production_settings() -> dict[str, str]:
    """The variables of the `check --deploy` command in docs/deploy.md, which tells an operator
    what to set behind TLS: read from the page, so the page and the test cannot drift."""
    section = DEPLOY_DOC.read_text().split("## `check --deploy`", 1)[1]
    command = section.split("```sh", 1)[1].split("```", 1)[0]
    return dict(re.findall(r"\b([A-Z][A-Z0-9_]*)=(\S+)", command))


def production_env(**overrides: str) -> dict[str, str]:
    """The documented production settings, with a generated SECRET_KEY."""
    values = {**documented_production_settings(), "SECRET_KEY": secrets.token_urlsafe(50)}
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


def env_example() -> dict[str, str]:
    """.env.example as docker compose reads it (compose-go's dotenv rules for unquoted values:
    leading blanks dropped, then everything from the first " #" on)."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line):
            value = match.group(2).lstrip(" \t").split(" #", 1)[0].rstrip()
            values[match.group(1)] = value
    return values


# -- settings --------------------------------------------------------------------------------


def test_the_documented_production_settings_are_read_from_the_page() -> None:
    documented = documented_production_settings()
    assert documented["DEBUG"] == "0" and documented["SECRET_KEY"] == "..."
    expected = {
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "SECURE_HSTS_SECONDS",
        "TRUSTED_PROXY_HOPS",
    }
    assert expected | {"UPSTREAM_KEY_VARIABLES", "UPSTREAM_HOSTS"} <= set(documented)


def test_the_deploy_check_is_clean_with_production_settings() -> None:
    result = run_manage(production_env(), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("System check identified no issues")
    assert result.stderr == ""


def test_the_deploy_check_fails_without_https_settings() -> None:
    # The check above must be able to fail: the same environment with HSTS off warns.
    env = production_env(SECURE_HSTS_SECONDS="0", SECURE_SSL_REDIRECT="0")
    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W004" in result.stderr
    assert "security.W008" in result.stderr


DJANGO_SECURITY_MIDDLEWARE = "django.middleware.security.SecurityMiddleware"
OUR_SECURITY_MIDDLEWARE = "custom_middleware.Security"  # a subclass, under another path


@pytest.mark.parametrize(
    ("security", "expected", "absent"),
    [
        (DJANGO_SECURITY_MIDDLEWARE, "security.W004", "config.W011"),
        (OUR_SECURITY_MIDDLEWARE, "security.W004", "config.W011"),
        (None, "config.W011", "security.W004"),
    ],
)
def test_the_https_checks_see_through_subclassed_middleware(
    tmp_path: Path, security: str | None, expected: str, absent: str
) -> None:
    # Django's own checks look for the dotted path: with a subclass in its place they would
    # skip HSTS and the rest, and a missing middleware must still be reported.
    (tmp_path / "custom_middleware.py").write_text(
        "from django.middleware.security import SecurityMiddleware\n\n\n"
        "class Security(SecurityMiddleware):\n    pass\n"
    )
    (tmp_path / "variant_settings.py").write_text(
        "from config.settings import *  # noqa: F403\n\n"
        "MIDDLEWARE = [m for m in MIDDLEWARE if 'Security' not in m]  # noqa: F405\n"
        + (f"MIDDLEWARE.insert(0, {security!r})\n" if security else "")
    )
    env = production_env(SECURE_HSTS_SECONDS="0", SECURE_HSTS_PRELOAD="0")
    env.update(DJANGO_SETTINGS_MODULE="variant_settings", PYTHONPATH=str(tmp_path))
    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert expected in result.stderr
    assert absent not in result.stderr


def test_a_missing_secret_key_stops_a_production_process() -> None:
    env = production_env()
    del env["SECRET_KEY"]
    result = run_manage(env, "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr  # and says how to make one


def test_a_blank_secret_key_is_a_missing_one() -> None:
    result = run_manage(production_env(SECRET_KEY="   "), "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_djangos_placeholder_key_stops_a_production_process() -> None:
    key = "django-insecure-" + secrets.token_urlsafe(50)
    result = run_manage(production_env(SECRET_KEY=key), "check")
    assert result.returncode != 0
    assert "SECRET_KEY is Django's insecure placeholder" in result.stderr


@pytest.mark.parametrize("key", ["too-short-a-key", "ab" * 40])
def test_a_weak_secret_key_fails_the_deploy_check_as_an_error(key: str) -> None:
    # No --fail-level: an error fails the default level, so compose's migrate step stops.
    result = run_manage(production_env(SECRET_KEY=key), "check", "--deploy")
    assert result.returncode != 0
    assert "(config.E001) SECRET_KEY is weak" in result.stderr


def test_hsts_preload_without_its_prerequisites_warns() -> None:
    env = production_env(SECURE_HSTS_SECONDS="3600")
    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "config.W001" in result.stderr


def test_a_bad_boolean_stops_the_process() -> None:
    result = run_manage(production_env(SECURE_SSL_REDIRECT="sometimes"), "check")
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT must be a boolean" in result.stderr
    assert "'sometimes'" in result.stderr


def test_a_bad_number_stops_the_process() -> None:
    result = run_manage(production_env(SECURE_HSTS_SECONDS="a year"), "check")
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS must be an integer" in result.stderr


def test_every_variable_the_settings_read_is_in_env_example() -> None:
    source = (REPO / "config" / "settings.py").read_text()
    read = set(re.findall(r"env_(?:str|bool|int|float|list)\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    assert read, "the pattern no longer finds the settings' variables"
    assert read - set(env_example()) == set()


def test_env_example_survives_compose_env_file_parsing() -> None:
    # `NAME=   # comment` is "# comment" to compose: a SECRET_KEY or DATABASE_URL that is
    # a comment would start the stack with nonsense instead of failing.
    commented = {name: value for name, value in env_example().items() if value.startswith("#")}
    assert commented == {}


# -- the container image ---------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    pairs = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    return [(pair[0].upper(), pair[1] if len(pair) > 1 else "") for pair in pairs]


def test_the_image_is_slim_python_run_as_a_user_and_serves_with_daphne() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [args for name, args in instructions if name == "USER"]
    assert users and users[-1] not in {"root", "0"}
    runs = " ".join(args for name, args in instructions if name == "RUN")
    assert "pyproject.toml" in runs and "pip install" in runs
    assert "manage.py collectstatic --noinput" in runs
    assert ("ENV", "") not in instructions
    env = " ".join(args for name, args in instructions if name == "ENV")
    assert "STATIC_ROOT=/srv/static" in env
    cmd = [args for name, args in instructions if name == "CMD"][-1]
    assert cmd.startswith('["daphne"') and "config.asgi:application" in cmd
    assert '"8000"' in cmd and '"--proxy-headers"' in cmd


def test_no_secret_is_baked_into_the_image() -> None:
    env = " ".join(args for name, args in dockerfile_instructions() if name in {"ENV", "ARG"})
    assert "SECRET_KEY" not in env
    assert ".env" in (REPO / ".dockerignore").read_text().split()


def test_every_manage_command_named_by_the_image_and_compose_exists() -> None:
    image = " ".join(args for _, args in dockerfile_instructions())
    compose = " ".join(line.split("#", 1)[0] for line in COMPOSE.read_text().splitlines())
    named = set(re.findall(r"manage\.py\"?,?\s*\"?([a-z_]+)", image + " " + compose))
    assert {"collectstatic", "migrate", "check", "run_worker"} <= named
    # run_worker is the worker service's command (chat/management/commands/run_worker.py).
    assert named - set(get_commands()) == set()


def test_compose_interpolates_only_variables_listed_in_env_example() -> None:
    interpolated = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE.read_text()))
    assert interpolated == {"POSTGRES_PASSWORD", "HTTP_PORT"}
    assert interpolated - set(env_example()) == set()


# -- the compose topology (needs PyYAML) -----------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # PyYAML is no dependency of the project: without it these structural checks skip, and
    # the text-level checks above still run.
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed in this environment")
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_compose_runs_the_documented_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == LONG_RUNNING | {"migrate"}


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        check = compose["services"][name].get("healthcheck", {})
        assert check.get("test"), name
        assert check["test"][0] == "CMD", name  # exec form: no shell in the slim image
        assert "timeout" in check, name


def test_web_processes_are_probed_on_readyz_without_curl(compose: dict[str, Any]) -> None:
    for name in ("web1", "web2"):
        test = compose["services"][name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "deploy/probe.py"]
        assert test[3] == "http://127.0.0.1:8000/readyz"


def test_app_services_read_the_env_file_and_name_only_known_variables(
    compose: dict[str, Any],
) -> None:
    known = set(env_example())
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["env_file"] == ".env", name
        assert set(service["environment"]) - known == set(), name
        assert service["environment"]["DEBUG"] == "0"
        assert service["environment"]["RUN_EXECUTION"] == "worker"


def test_services_start_after_what_they_need(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("web1", "web2", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name
    assert services["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert services["migrate"]["restart"] == "no"
    assert services["nginx"]["depends_on"] == {
        "web1": {"condition": "service_healthy"},
        "web2": {"condition": "service_healthy"},
    }


def test_the_migrate_step_checks_migrates_and_collects(compose: dict[str, Any]) -> None:
    script = " ".join(compose["services"]["migrate"]["command"])
    assert script.index("check --deploy") < script.index("migrate --noinput")
    assert "collectstatic --noinput" in script
    assert " && " in script  # one failing step stops the rest (and so the stack)


def test_the_worker_runs_run_worker(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert worker["command"] == ["python", "manage.py", "run_worker"]
    assert worker["healthcheck"]["test"] == ["CMD", "python", "manage.py", "run_worker", "--check"]


def test_nginx_uses_the_rendered_config_and_its_upstreams_exist(compose: dict[str, Any]) -> None:
    nginx = compose["services"]["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert "static:/srv/static:ro" in nginx["volumes"]
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    upstreams = re.findall(r"^\s*server (\w+):(\d+);", conf, re.M)
    assert upstreams == [("web1", "8000"), ("web2", "8000")]
    assert {host for host, _ in upstreams} <= set(compose["services"])
    assert "alias /srv/static/;" in conf
    assert "static:/srv/static" in compose["services"]["migrate"]["volumes"]


def test_the_database_url_points_at_the_postgres_service(compose: dict[str, Any]) -> None:
    url = compose["services"]["web1"]["environment"]["DATABASE_URL"]
    postgres = compose["services"]["postgres"]["environment"]
    assert url.startswith(f"postgres://{postgres['POSTGRES_USER']}:${{POSTGRES_PASSWORD")
    assert url.endswith(f"@postgres:5432/{postgres['POSTGRES_DB']}")
    assert compose["services"]["web1"]["environment"]["REDIS_URL"] == "redis://redis:6379/0"


# -- the health probe (deploy/probe.py) ------------------------------------------------------


def run_probe(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROBE), *args],
        env={**app_env(), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("chat.example.com,127.0.0.1", "chat.example.com"),
        (" .example.com ", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_the_probe_sends_a_host_django_accepts(allowed: str, host: str) -> None:
    # A script beside the nginx files, not a package module: load it from its path.
    spec = importlib.util.spec_from_file_location("probe", PROBE)
    assert spec is not None and spec.loader is not None
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    assert probe.probe_host(allowed) == host


def test_the_probe_fails_fast_on_a_closed_port() -> None:
    started = time.monotonic()
    result = run_probe(f"http://127.0.0.1:{free_port()}/readyz")
    assert result.returncode == 1
    assert "Connection refused" in result.stderr
    assert time.monotonic() - started < 5
