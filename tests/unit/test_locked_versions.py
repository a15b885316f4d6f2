"""constraints.txt locks every distribution an install resolves to, and every install uses it.

A clean clone resolves its dependencies on the day it runs. Without the lock, a
release of any of them could change what the engine accepts between two runs of
the same commit (orjson 3.12 and 3.13 refuse some valid documents that
engine/codec.py now reads another way).
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = ("test", "bench")
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[0-9][0-9A-Za-z.+!-]*)$")


def pins() -> dict[str, Version]:
    """constraints.txt as canonical name -> pinned version; any other form of line fails."""
    found: dict[str, Version] = {}
    for number, line in enumerate((ROOT / "constraints.txt").read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"constraints.txt:{number}: {line!r} is not name==version"
        name = canonicalize_name(match["name"])
        assert name not in found, f"constraints.txt:{number}: {name} pinned twice"
        found[name] = Version(match["version"])
    return found


def declared() -> list[Requirement]:
    """The project's requirements: its dependencies and the extras README installs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in EXTRAS:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def applies(req: Requirement, extras: set[str]) -> bool:
    """Whether this environment installs `req`, when its parent was asked for with `extras`."""
    if req.marker is None:
        return True
    env = default_environment()
    return any(req.marker.evaluate({**env, "extra": extra}) for extra in extras | {""})


def test_every_line_is_an_exact_pin_of_one_distribution() -> None:
    assert len(pins()) > 20


def test_every_declared_requirement_is_pinned_at_a_version_it_allows() -> None:
    locked = pins()
    for req in declared():
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} (pyproject.toml) has no pin in constraints.txt"
        assert req.specifier.contains(locked[name], prereleases=True), (
            f"constraints.txt pins {name}=={locked[name]}, which pyproject.toml's {req} refuses")


def test_everything_the_installed_requirements_pull_in_is_pinned() -> None:
    """Walk the installed distributions from the project's requirements, extras included."""
    locked = pins()
    queue = [(req, set(req.extras), "pyproject.toml") for req in declared()]
    seen: set[str] = set()
    while queue:
        req, extras, parent = queue.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        assert name in locked, f"{name} (required by {parent}: {req}) has no pin in constraints.txt"
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an extra this environment did not install (bench's py-spy in CI)
        for line in dist.requires or []:
            sub = Requirement(line)
            if applies(sub, extras):
                queue.append((sub, set(sub.extras), name))
    assert {"aiokafka", "pydantic-core", "orjson", "pytest"} <= seen


def test_this_environment_was_installed_with_the_lock() -> None:
    """A pinned distribution installed at another version means the lock was not used (or is stale)."""
    drift = {}
    for name, version in pins().items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            continue
        if installed != version:
            drift[name] = f"installed {installed}, pinned {version}"
    assert not drift, f"install with `pip install -c constraints.txt ...` (README.md): {drift}"


def _fenced_commands(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]


@pytest.mark.parametrize("where", ["README.md", ".ci/run", "docker/Dockerfile"])
def test_every_install_uses_the_lock(where: str) -> None:
    # README's refresh of the lock resolves afresh, into /tmp/lock, on purpose.
    installs = [line for line in (ROOT / where).read_text().splitlines()
                if "pip install" in line and "/tmp/lock/" not in line]
    assert installs, f"{where} installs nothing"
    for line in installs:
        assert "-c constraints.txt" in line, f"{where}: {line.strip()!r} installs without the lock"


def test_ci_runs_the_test_command_readme_gives() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    demo, tests = _fenced_commands(section)[:2]
    assert demo.endswith("hazard-engine demo")
    ci = [line for line in (ROOT / ".ci/run").read_text().splitlines()
          if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert ci == [tests]
