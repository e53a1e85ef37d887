"""pyproject.toml and the lock agree.

`make install` installs requirements.lock, not pyproject.toml's list: a pin changed in
pyproject.toml without `make lock` would not be installed, and nothing else would say so.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
# `name==version`, then markers or the hashes' line continuation.
LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def declared(pyproject: str) -> list[Requirement]:
    """The runtime dependencies and every extra's."""
    project = tomllib.loads(pyproject)["project"]
    extras = project.get("optional-dependencies", {}).values()
    lines = [*project["dependencies"], *(line for extra in extras for line in extra)]
    return [Requirement(line) for line in lines]


def locked(lock: str) -> dict[str, set[str]]:
    """{canonical name: versions}; a package may be locked twice, under exclusive markers."""
    versions: dict[str, set[str]] = {}
    for name, version in LOCKED.findall(lock):
        versions.setdefault(canonicalize_name(name), set()).add(version)
    return versions


def disagreements(pyproject: str, lock: str) -> dict[str, str]:
    versions = locked(lock)
    found: dict[str, str] = {}
    for requirement in declared(pyproject):
        name = canonicalize_name(requirement.name)
        if not any(requirement.specifier.contains(v) for v in versions.get(name, ())):
            found[name] = f"{requirement.specifier} vs locked {sorted(versions.get(name, ()))}"
    return found


def test_every_dependency_is_pinned_exactly() -> None:
    loose = [
        str(r)
        for r in declared((ROOT / "pyproject.toml").read_text("utf-8"))
        if [s.operator for s in r.specifier] != ["=="]
    ]
    assert loose == [], "pin these with ==, then run `make lock`"


def test_the_lock_holds_every_version_pyproject_pins() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    lock = (ROOT / "requirements.lock").read_text("utf-8")
    assert disagreements(pyproject, lock) == {}, "pyproject.toml changed: run `make lock`"


def test_a_pin_the_lock_lacks_is_reported() -> None:
    pyproject = '[project]\ndependencies = ["httpcore==1.0.9", "Django==5.2.19"]\n'
    lock = "django==5.2.19 \\\n    --hash=sha256:00\nhttpcore==1.0.8 ; sys_platform != 'x'\n"
    assert disagreements(pyproject, lock) == {"httpcore": "==1.0.9 vs locked ['1.0.8']"}
