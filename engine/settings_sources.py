"""Where settings come from besides the environment: a YAML configuration file and a secrets directory.

Both are pydantic-settings sources keyed by the Settings field names, so a
configuration file says `web_port: 7000` and a secrets directory holds a file
named `kafka_sasl_password`. `Traced` wraps every source so the loader can
tell, for each field, which source gave its value (`hazard-engine config show`).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from engine.errors import EngineError


class ConfigError(EngineError):
    """The configuration file, the secrets directory or a setting's value is not usable."""


def input_keys(field_name: str, field: FieldInfo) -> list[str]:
    """The keys pydantic accepts for a field, preferred first: its aliases, else its name."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [alias] if isinstance(alias, str) else [field_name]


def env_names(settings_cls: type[BaseSettings], field_name: str) -> list[str]:
    """The environment variables that set a field, as the environment source reads them."""
    field = settings_cls.model_fields[field_name]
    if field.validation_alias is not None:
        return input_keys(field_name, field)
    return [f"{settings_cls.model_config.get('env_prefix', '')}{field_name}".upper()]


def _is_path(field: FieldInfo) -> bool:
    return field.annotation is Path or Path in get_args(field.annotation)


class _FieldSource(PydanticBaseSettingsSource):
    """A source whose values are keyed by field name; it hands pydantic each field's preferred key."""

    def values(self) -> dict[str, Any]:
        """The values this source supplies, keyed by field name."""
        raise NotImplementedError

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: `__call__` reads everything at once (the base class requires this method)."""
        return self.values().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        fields = self.settings_cls.model_fields
        return {input_keys(name, fields[name])[0]: value for name, value in self.values().items()}


class ConfigFileSource(_FieldSource):
    """The YAML configuration file: a mapping of field names to values; an unknown key is an error."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path
        self._values: dict[str, Any] | None = None

    def values(self) -> dict[str, Any]:
        """The file's mapping, read and checked once; empty when there is no file."""
        if self._values is None:
            self._values = self._read() if self.path is not None else {}
        return self._values

    def _read(self) -> dict[str, Any]:
        path = self.path
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))  # type: ignore[union-attr]
        except OSError as exc:
            raise ConfigError(f"cannot read configuration file {path}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not UTF-8 text (byte {exc.start})") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"configuration file {path} is not YAML: {exc}") from exc
        if doc is None:
            return {}
        if not isinstance(doc, dict):
            raise ConfigError(f"configuration file {path}: expected a mapping of setting names to "
                              f"values, got {type(doc).__name__}")
        known = self.settings_cls.model_fields
        for key in doc:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else " (see `hazard-engine config show`)"
                raise ConfigError(f"configuration file {path}: unknown key {key!r}{hint}")
        # A relative path in the file means beside the file, wherever the engine is started from.
        base = path.parent  # type: ignore[union-attr]
        return {key: str(base / value) if isinstance(value, str) and _is_path(known[key])
                and not Path(value).expanduser().is_absolute() else value
                for key, value in doc.items()}


class SecretFilesSource(_FieldSource):
    """A directory of one-value files, each named after a field, as Docker and Kubernetes mount secrets."""

    def __init__(self, settings_cls: type[BaseSettings], directory: Path | None) -> None:
        super().__init__(settings_cls)
        self.directory = directory

    def values(self) -> dict[str, Any]:
        """The value of every field that has a file in the directory, trailing newline removed."""
        if self.directory is None:
            return {}
        if not self.directory.is_dir():
            raise ConfigError(f"secrets directory {self.directory} does not exist or is not a directory")
        found = {}
        for name in self.settings_cls.model_fields:
            path = self.directory / name
            if path.is_file():
                # Only line ends go: `echo pw > file` adds one, but a password may end in a space.
                try:
                    found[name] = path.read_text(encoding="utf-8").rstrip("\r\n")
                except (OSError, UnicodeDecodeError) as exc:  # the value itself is never shown
                    why = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror or exc
                    raise ConfigError(f"secret file {path} cannot be read: {why}") from exc
        return found


class Traced(PydanticBaseSettingsSource):
    """Wraps a source, re-keys its values to each field's preferred key and records which fields it gave.

    Re-keying matters for fields with several aliases: without it a value the
    environment gives under the second alias and one the file gives under the
    first would both reach pydantic, and the first alias would win whatever
    the sources' order.
    """

    def __init__(self, label: str, inner: PydanticBaseSettingsSource, given: dict[str, str]) -> None:
        super().__init__(inner.settings_cls)
        self.label, self.inner, self.given = label, inner, given
        fields = self.settings_cls.model_fields
        self._field_of = {key.lower(): name for name, field in fields.items()
                          for key in [name, *input_keys(name, field)]}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: the wrapped source does the reading."""
        return self.inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        fields = self.settings_cls.model_fields
        out: dict[str, Any] = {}
        for key, value in self.inner().items():
            name = self._field_of.get(key.lower())
            if name is None:
                continue  # the model would ignore it anyway (extra="ignore")
            self.given.setdefault(name, self.label)
            out.setdefault(input_keys(name, fields[name])[0], value)
        return out
