"""`hazard-engine config show`: the effective settings, each with where its value came from.

Secrets never appear: a SecretStr field shows `**********` when it is set,
and so does any value read from the secrets directory, whatever its type,
since whoever put it there meant it to stay out of sight.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import SecretStr

from engine.settings import Loaded
from engine.settings_sources import env_names

MASK = "**********"


@dataclass(frozen=True, slots=True)
class Entry:
    """One setting as `config show` prints it."""

    name: str
    value: Any  # JSON-ready: str, int, float, bool or None
    origin: str  # default, file, secrets, env or argument
    env: str  # the environment variable that would override it


def entries(loaded: Loaded) -> list[Entry]:
    """Every field of the settings, in declaration order, secrets masked."""
    settings = loaded.settings
    plain = settings.model_dump(mode="json")
    out = []
    for name in type(settings).model_fields:
        raw, origin = getattr(settings, name), loaded.origins[name]
        value = plain[name]
        if isinstance(raw, SecretStr) or (origin == "secrets" and raw is not None):
            value = MASK
        out.append(Entry(name, value, origin, env_names(type(settings), name)[0]))
    return out


def render_json(loaded: Loaded) -> str:
    """The effective configuration as one JSON document."""
    doc = {
        "config_file": str(loaded.config) if loaded.config else None,
        "secrets_dir": str(loaded.secrets_dir) if loaded.secrets_dir else None,
        "settings": {e.name: {"value": e.value, "source": e.origin, "env": e.env}
                     for e in entries(loaded)},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def render_yaml(loaded: Loaded) -> str:
    """The effective configuration as YAML, each line commented with its source."""
    rows = []
    for e in entries(loaded):
        line = yaml.safe_dump({e.name: e.value}, default_flow_style=False, allow_unicode=True,
                              width=10**6).strip()
        note = f"{e.origin} ({e.env})" if e.origin == "env" else e.origin
        rows.append((line, note))
    width = max(len(line) for line, _ in rows)
    head = [f"# configuration file: {loaded.config or '(none)'}",
            f"# secrets directory: {loaded.secrets_dir or '(none)'}",
            "# precedence: default < file < secrets < env < argument"]
    return "\n".join(head + [f"{line:<{width}}  # {note}" for line, note in rows])


def show(loaded: Loaded, as_json: bool = False) -> str:
    """The text `config show` prints."""
    return render_json(loaded) if as_json else render_yaml(loaded)
