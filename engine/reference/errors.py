"""Errors raised while loading the reference data in rules/; each names the file, key and fix."""

from __future__ import annotations


class RulesError(Exception):
    """Base of every error in the rules/ data; the engine refuses to start on one."""


class RulesFileError(RulesError):
    """A problem in one rules file, located by file, dotted key path and (for YAML) line."""

    def __init__(
        self,
        file: str,
        key: str | None,
        reason: str,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.file = file  # as shown to the operator, e.g. "rules/reference/sectors.yaml"
        self.key = key  # dotted key path, e.g. "sectors.fire_safety.lead"; None if file-wide
        self.reason = reason  # what is wrong and how to fix it
        self.line = line  # 1-based, only for YAML-level problems
        self.column = column
        where = file
        if line is not None:
            where += f": line {line}" + (f", column {column}" if column is not None else "")
        super().__init__(f"{where}: {key}: {reason}" if key else f"{where}: {reason}")
