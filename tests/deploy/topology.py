"""The deployment topology as real processes on free loopback ports: nginx, daphne, workers.

Each helper is a context manager that starts a process, waits until it answers, and on exit
stops it (and anything it forked) whether the block passed or raised: a failed test must not
leave a daphne or an nginx behind. Output goes to a log file whose text is in the error when
a process does not come up.

    env = app_env(SQLITE_PATH=str(tmp / "db.sqlite3"), STATIC_ROOT=str(tmp / "static"))
    migrate(env)
    collectstatic(env)
    with daphne_process(free_port(), env) as web1, daphne_process(free_port(), env) as web2:
        with nginx_in_front([port1, port2], tmp / "static") as base_url:
            ...

Processes get the app's variables only from `app_env`: whatever the test runner's own
environment says (the CI exports DATABASE_URL and REDIS_URL) never leaks in.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType

import psutil
import pytest

from tests.servers import free_port

__all__ = [
    "app_env",
    "collectstatic",
    "daphne_process",
    "free_port",
    "manage",
    "migrate",
    "nginx_in_front",
    "process",
    "require_nginx",
    "worker_process",
]

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# Enough for the stylesheets and scripts the app serves, when the nginx install has none.
FALLBACK_MIME_TYPES = """types {
    text/html html; text/css css; application/javascript js; application/json json;
    image/svg+xml svg; image/png png; font/woff2 woff2;
}
"""


def _missing(reason: str) -> None:
    # On CI (REQUIRE_SERVICES=1) a missing dependency is a failure, never a silent skip.
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def require_nginx() -> str:
    """The nginx binary; skips the test (fails with REQUIRE_SERVICES=1) when there is none."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        _missing("nginx is not installed (apt-get install nginx)")
    assert found is not None
    return found


# -- the app's environment and management commands ---------------------------------------


def _app_variables() -> set[str]:
    """Every variable the settings read: the names in .env.example."""
    names = re.findall(r"^([A-Z][A-Z0-9_]*)=", (REPO / ".env.example").read_text(), re.M)
    return set(names) | {"DJANGO_SETTINGS_MODULE"}


def app_env(**values: str) -> dict[str, str]:
    """The runner's environment without any app variable, plus `values`."""
    blocked = _app_variables()
    env = {name: value for name, value in os.environ.items() if name not in blocked}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", PYTHONUNBUFFERED="1")
    env.update(values)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run `manage.py ARGS` to completion; its output, or an error that includes it."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        command = " ".join(args)
        raise RuntimeError(f"manage.py {command} exited {result.returncode}:\n{result.stdout}")
    return result.stdout


def migrate(env: dict[str, str]) -> None:
    manage(env, "migrate", "--noinput")


def collectstatic(env: dict[str, str]) -> None:
    manage(env, "collectstatic", "--noinput")


# -- processes -----------------------------------------------------------------------------


@contextmanager
def process(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    ready: Callable[[], bool],
    log_path: Path,
    timeout: float = STARTUP_TIMEOUT,
) -> Iterator[psutil.Process]:
    """Run `argv` until the block ends; yields once `ready()` is true."""
    with log_path.open("wb") as log:
        popen = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    proc = psutil.Process(popen.pid)
    try:
        _wait_until(ready, popen, log_path, timeout)
        yield proc
    finally:
        _stop(proc)
        popen.wait(timeout=STOP_TIMEOUT)


def _wait_until(
    ready: Callable[[], bool], popen: subprocess.Popen[bytes], log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(
                f"{popen.args!r} exited with {popen.returncode}:\n{log_path.read_text()}"
            )
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{popen.args!r} was not ready in {timeout:.0f} s:\n{log_path.read_text()}")


def _stop(proc: psutil.Process) -> None:
    """Terminate `proc` and whatever it forked (nginx workers outlive a killed master)."""
    try:
        children = proc.children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for target in [proc, *children]:
        with suppress(psutil.NoSuchProcess):
            target.terminate()
    _, alive = psutil.wait_procs([proc, *children], timeout=STOP_TIMEOUT)
    for target in alive:
        with suppress(psutil.NoSuchProcess):
            target.kill()


def _answers_200(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    return check


def _accepts(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    return check


@contextmanager
def _log_dir(log_dir: Path | None, prefix: str) -> Iterator[Path]:
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        yield log_dir
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as made:
        yield Path(made)


@contextmanager
def daphne_process(
    port: int, env: dict[str, str], *, log_dir: Path | None = None
) -> Iterator[psutil.Process]:
    """`daphne config.asgi:application` on 127.0.0.1:`port`, ready once /healthz answers."""
    argv = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--proxy-headers"]
    argv.append("config.asgi:application")
    # PORT: the mounted simulator's default URL (SIMULATOR_URL) points at this process.
    env = {**env, "PORT": str(port)}
    with (
        _log_dir(log_dir, "daphne-") as logs,
        process(
            argv,
            env=env,
            ready=_answers_200(f"http://127.0.0.1:{port}/healthz"),
            log_path=logs / f"daphne-{port}.log",
        ) as proc,
    ):
        yield proc


@contextmanager
def worker_process(
    env: dict[str, str], *, log_dir: Path | None = None, name: str = "worker"
) -> Iterator[psutil.Process]:
    """`manage.py run_worker`, ready once `manage.py run_worker --check` exits 0."""

    def ready() -> bool:
        check = subprocess.run(
            [PYTHON, "manage.py", "run_worker", "--check"],
            cwd=REPO,
            env=env,
            capture_output=True,
            timeout=30,
            check=False,
        )
        return check.returncode == 0

    with (
        _log_dir(log_dir, "worker-") as logs,
        process(
            [PYTHON, "manage.py", "run_worker"], env=env, ready=ready, log_path=logs / f"{name}.log"
        ) as proc,
    ):
        yield proc


# -- nginx ---------------------------------------------------------------------------------


def _renderer() -> ModuleType:
    # A script with a dash in its name, not a package module: load it from its path.
    spec = importlib.util.spec_from_file_location(
        "render_nginx", REPO / "deploy" / "render-nginx.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render_nginx_conf(
    *, listen: str, upstreams: Sequence[str], static_root: str, temp_dir: str
) -> str:
    """deploy/nginx.conf.template rendered by deploy/render-nginx.py."""
    text: str = _renderer().render(
        listen=listen, upstreams=upstreams, static_root=static_root, temp_dir=temp_dir
    )
    return text


def _mime_types(nginx: str) -> str:
    """The installation's mime.types: the template includes it next to the config."""
    version = subprocess.run([nginx, "-V"], capture_output=True, text=True, check=False)
    match = re.search(r"--conf-path=(\S+)", version.stderr)
    conf_dir = Path(match.group(1)).parent if match else Path("/etc/nginx")
    installed = conf_dir / "mime.types"
    return installed.read_text() if installed.is_file() else FALLBACK_MIME_TYPES


@contextmanager
def nginx_in_front(
    upstream_ports: Sequence[int],
    static_root: Path,
    *,
    port: int | None = None,
    log_dir: Path | None = None,
) -> Iterator[str]:
    """nginx on 127.0.0.1, proxying to daphne on `upstream_ports`; yields its base URL."""
    nginx = require_nginx()
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="nginx-") as made, _log_dir(log_dir, "nginx-") as logs:
        prefix = Path(made)
        conf = prefix / "nginx.conf"
        conf.write_text(
            render_nginx_conf(
                listen=f"127.0.0.1:{port}",
                upstreams=[f"127.0.0.1:{upstream}" for upstream in upstream_ports],
                static_root=str(static_root),
                temp_dir=str(prefix / "temp"),
            )
        )
        (prefix / "mime.types").write_text(_mime_types(nginx))
        (prefix / "temp").mkdir()  # nginx creates each temp path, but not their parent
        argv = [nginx, "-e", "stderr", "-p", str(prefix), "-c", str(conf), "-g", _globals(prefix)]
        with process(argv, env=dict(os.environ), ready=_accepts(port), log_path=logs / "nginx.log"):
            yield f"http://127.0.0.1:{port}"


def _globals(prefix: Path) -> str:
    directives = f"daemon off; pid {prefix / 'nginx.pid'};"
    if os.geteuid() == 0:
        # As root, nginx runs its workers as "nobody", who cannot read a test's private temp
        # directories (the static root): keep them as the current user.
        directives += f" user {pwd.getpwuid(0).pw_name};"
    return directives
