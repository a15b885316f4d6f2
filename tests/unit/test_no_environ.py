"""Nothing in the engine reads the environment but the settings modules.

Every setting comes from `Settings` or `ToolSettings` (engine/settings.py),
where each field names its variable, is documented and is checked at start.
A stray `os.environ.get` elsewhere is a setting nobody can find, so this
scans the source rather than trusting review to catch one.
"""

from __future__ import annotations

import ast

from engine.settings import REPO_ROOT

ENGINE = REPO_ROOT / "engine"
# engine/settings.py also holds child_environment, the one place that copies os.environ
# for a child process.
ALLOWED = {ENGINE / "settings.py", ENGINE / "settings_sources.py"}
READERS = {"environ", "environb", "getenv", "getenvb"}


def environment_reads(source: str) -> list[tuple[int, str]]:
    """Each line of `source` that reads the environment, with what it uses (`os.environ`, …)."""
    tree = ast.parse(source)
    os_names = {alias.asname or "os" for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names if alias.name == "os"}
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in READERS
                and isinstance(node.value, ast.Name) and node.value.id in os_names):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [(node.lineno, f"from os import {a.name}") for a in node.names
                      if a.name in READERS]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in READERS:
            found.append((node.lineno, f"{node.func.id}("))
    return sorted(found)


def test_only_the_settings_modules_read_the_environment() -> None:
    """No module under engine/ but settings.py and settings_sources.py uses os.environ or getenv."""
    offences = [f"{path.relative_to(REPO_ROOT)}:{line}: {what}"
                for path in sorted(ENGINE.rglob("*.py")) if path not in ALLOWED
                for line, what in environment_reads(path.read_text(encoding="utf-8"))]
    assert not offences, ("read the environment through engine/settings.py (Settings or "
                          "ToolSettings), not here:\n" + "\n".join(offences))


def test_the_scan_finds_each_way_of_reading_the_environment() -> None:
    """The scan catches os.environ, os.getenv, an aliased os and `from os import`, and no mention."""
    source = ("import os\nimport os as system\nfrom os import environ, getenv, path\n"
              "a = os.environ.get('A')\nb = os.getenv('B')\nc = system.environ['C']\n"
              "d = getenv('D')\n# os.environ in a comment\ne = 'os.environ in a string'\n")
    assert environment_reads(source) == [
        (3, "from os import environ"), (3, "from os import getenv"), (4, "os.environ"),
        (5, "os.getenv"), (6, "system.environ"), (7, "getenv(")]
