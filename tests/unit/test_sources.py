"""Every value the rules credit to the district's plans quotes a line the plans really contain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SEED = Path("/work/shared/seed/district-plans.txt")
RULE_FILES = [REPO / "rules" / "hazards.yaml", REPO / "rules" / "alerts.yaml",
              *sorted((REPO / "rules" / "reference").glob("*.yaml"))]
# A quote is the text between Chinese or straight double quotes that holds Chinese characters.
_QUOTE = re.compile(r'[“"]([^“”"]*[\u4e00-\u9fff][^“”"]*)[”"]')
_LINE = re.compile(r"(?:plans,? line|plans line) (\d+)(?:-(\d+))?")


def _collapse(text: str) -> str:
    # YAML folds long strings and the seed breaks pages mid-sentence: compare without spaces.
    return re.sub(r"\s+", "", text)


def _quotes_after_line_refs(text: str) -> list[tuple[int, int, str]]:
    found = []
    for m in _LINE.finditer(text):
        first = int(m.group(1))
        last = int(m.group(2) or first)
        window = text[m.end(): m.end() + 80]  # the quote follows its line reference closely
        q = _QUOTE.search(window)
        if q:
            found.append((first, last, q.group(1)))
    return found


@pytest.mark.skipif(not SEED.exists(), reason="the seed plans are not on this machine")
@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_quotes_credited_to_the_plans_are_in_the_plans(path: Path) -> None:
    """Each quote after "plans line N" appears in the seed within lines N to M."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    for first, last, quote in _quotes_after_line_refs(path.read_text(encoding="utf-8")):
        span = _collapse("".join(lines[first - 1:last]))
        for part in quote.split("…"):
            part = _collapse(part).strip("，,")
            assert part in span, f"{path.name}: {part!r} is not in plans lines {first}-{last}"


def test_the_rules_quote_the_plans_at_all() -> None:
    """The check above has something to check: the hazard rules quote the plans."""
    assert len(_quotes_after_line_refs((REPO / "rules" / "hazards.yaml").read_text())) >= 3
