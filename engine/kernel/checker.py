"""The rules-file checker every core's loader stands on: compiled values from file values, or an
error that names the file, the key and what is wrong (RulesFileError).

A loader gives the checker the target names its core resolves; a name outside
them, or a `department:<id>` the reference does not define, is refused with
the list of what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from engine.reference import Reference, RulesFileError

if TYPE_CHECKING:
    from engine.ruleset.compiled import Span


class RulesChecker:
    """Builds compiled values from one rules file's values, raising errors that name file and key."""

    def __init__(self, shown: str, reference: Reference, targets: frozenset[str]) -> None:
        self.shown = shown
        self.reference = reference
        self.allowed = targets

    def fail(self, key: str, reason: str) -> RulesFileError:
        """The error for a bad value at `key` of this file."""
        return RulesFileError(self.shown, key, reason)

    def span(self, key: str, text: str, *, positive: bool = True) -> Span:
        """A duration ('3 working days'); unless `positive` is False, longer than nothing."""
        # Imported here: engine.ruleset's package imports its loader, which stands on this checker.
        from engine.ruleset.compiled import Span

        try:
            span = Span.parse(text)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None
        if positive and span.n <= 0:
            raise self.fail(key, f"{text!r} must be positive")
        return span

    def targets(self, key: str, names: list[str], allowed: frozenset[str] | None = None) -> tuple[str, ...]:
        """Target names the core resolves (`allowed`, else the checker's), or department:<id>."""
        allowed = self.allowed if allowed is None else allowed
        for i, name in enumerate(names):
            if name.startswith("department:"):
                dept = name.split(":", 1)[1]
                if not self.reference.has_department(dept):
                    raise self.fail(f"{key}[{i}]", f'unknown department "{dept}" '
                                    "(define it in reference/departments.yaml)")
            elif name not in allowed:
                raise self.fail(f"{key}[{i}]", f'unknown target "{name}" (use one of '
                                f"{', '.join(sorted(allowed))}, or department:<id>)")
        return tuple(names)

    def complete(self, key: str, got: Mapping[str, object], wanted: tuple[str, ...]) -> None:
        """Every one of `wanted` is a key of `got`."""
        missing = [w for w in wanted if w not in got]
        if missing:
            raise self.fail(key, f"missing {', '.join(missing)} (every one of {', '.join(wanted)} "
                            "must be given)")
