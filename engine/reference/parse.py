"""Read one reference YAML file and validate it, turning every failure into a RulesFileError."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from engine.reference.errors import RulesFileError
from engine.reference.models import ID_PATTERN, VERSION_PATTERN

M = TypeVar("M", bound=BaseModel)

_MERGE_TAG = "tag:yaml.org,2002:merge"
_PATTERN_HINTS = {
    ID_PATTERN: ("id", "ids use letters, digits, '-' and '_', starting with a letter or digit"),
    VERSION_PATTERN: ("version", 'write it like "2026.1"'),
}


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a repeated key, which plain YAML would silently overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *anchor` overrides are intended
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable key: let SafeLoader report it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f'duplicate key "{key}" (each key may appear only once)',
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        # PyYAML raises a bare ValueError for 2026-02-30, which would escape as a traceback.
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f'invalid date "{node.value}" ({exc}; write a real date as YYYY-MM-DD)',
                node.start_mark,
            ) from None


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _UniqueKeyLoader.construct_yaml_timestamp)


def read_yaml(path: Path, shown: str) -> dict[str, Any]:
    """Parse `path` as YAML and return its top-level mapping; `shown` is the path in messages."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesFileError(shown, None, "file not found (every rules dir needs it)") from None
    except OSError as exc:
        raise RulesFileError(shown, None, f"cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise RulesFileError(shown, None, f"not UTF-8 text ({exc.reason}); save it as UTF-8") \
            from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        # Our own duplicate-key and date errors already say how to fix them.
        if not problem.startswith(("duplicate key", "invalid date")):
            opened = exc.context_mark
            if exc.problem and exc.context and opened is not None and opened is not mark:
                # e.g. an unclosed "[": say where it was opened, which is usually the culprit
                problem = f"{exc.context} (opened at line {opened.line + 1}): {problem}"
            problem = f"YAML syntax error: {problem} (fix the YAML syntax)"
        raise RulesFileError(
            shown, None, problem,
            line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise RulesFileError(shown, None, f"YAML error: {exc} (fix the YAML syntax)") from None
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise RulesFileError(shown, None, f"expected a mapping of keys at top level, got {got}")
    return data


def validate(model: type[M], data: dict[str, Any], shown: str) -> M:
    """Validate `data` against a file model, reporting the first problem by key path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # A list whose only item failed is also reported as too short; that echo adds nothing.
        raw = exc.errors()
        errors = [e for e in raw if not (e["type"] == "too_short" and _has_inner(e["loc"], raw))]
        # An unknown key usually explains any "missing" error beside it, so report it first.
        errors = sorted(errors, key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        key, owner = _walk(model, first["loc"])
        reason = _reason(first, owner)
        if len(errors) > 1:
            reason += f"; {len(errors) - 1} more problem(s) in this file"
        raise RulesFileError(shown, key or None, reason) from None


def _has_inner(loc: tuple[int | str, ...], errors: list[Any]) -> bool:
    """Whether another error lies inside the value at `loc`."""
    return any(len(e["loc"]) > len(loc) and e["loc"][:len(loc)] == loc for e in errors)


def _walk(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[str, Any]:
    """Render `loc` as a dotted key path and return the model owning its last key, if any."""
    path, tp, owner = "", model, None
    for part in loc:
        if part == "[key]":  # pydantic's marker for a bad mapping key; the key is already shown
            continue
        tp = _unwrap(tp)
        owner = tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
        if owner is not None:
            field = owner.model_fields.get(str(part))
            tp = field.annotation if field else None
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        elif typing.get_origin(tp) is tuple:
            path += f"[{part}]"
            tp = typing.get_args(tp)[0]
            continue
        else:
            tp = None
        path += f".{part}" if path else str(part)
    return path, owner


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional so the walk sees the container or model underneath."""
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        rest = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = _unwrap(rest[0]) if len(rest) == 1 else None
    return tp


def _reason(err: Any, owner: type[BaseModel] | None) -> str:
    """Say what is wrong with one pydantic error and how to fix it, in rules/ vocabulary."""
    kind, value = err["type"], err.get("input")
    loc = err["loc"]
    if kind == "extra_forbidden":
        allowed = ", ".join(owner.model_fields) if owner else "none"
        return f"unknown key (allowed: {allowed})"
    if kind == "missing":
        return "required key is missing (add it)"
    if kind == "string_type":
        if loc and loc[-1] == "lead" and isinstance(value, list):
            return "one lead department per sector (list the others under joint)"
        return f"expected text, got {_show(value)} (quote it in YAML)"
    if kind == "string_pattern_mismatch":
        noun, hint = _PATTERN_HINTS.get(err.get("ctx", {}).get("pattern"), ("value", "fix it"))
        return f'invalid {noun} "{value}" ({hint})'
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of keys, got {_show(value)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list such as [a, b], got {_show(value)}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "bool_type":
        return f"expected true or false, got {_show(value)}"
    if kind == "literal_error":
        return f"expected {err['ctx']['expected']}, got {value!r}"
    return f"{err['msg']} (got {_show(value)})"


def _show(value: Any) -> str:
    """Describe a YAML value with its type, since YAML guesses types (2026.1 is a number)."""
    if value is None:
        return "an empty value"
    return f"{type(value).__name__} {value!r}"
