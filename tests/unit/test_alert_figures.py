"""An alert's figures at each report time, read in one pass, are what `figures(until=t)` gives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.alerts.state import Alert

CASUALTIES = st.none() | st.fixed_dictionaries({}, optional={
    "dead": st.integers(0, 40), "missing": st.integers(0, 5), "injured": st.integers(0, 60)})
REPORT = st.tuples(st.integers(0, 20), CASUALTIES, st.none() | st.integers(0, 10**8),
                   st.none() | st.integers(0, 5000))


@given(st.lists(REPORT, max_size=30), st.integers(-1, 21))
def test_figures_by_time_agree_with_figures_until_each_time(reports, until) -> None:
    """Same times (ties once, the last report at a time counting), same figures, nothing past `until`."""
    a = Alert("AL-F", reports=[[t, f"e{i}", c, lo, ev] for i, (t, c, lo, ev)
                               in enumerate(sorted(reports, key=lambda r: r[0]))])
    times = sorted({r[0] for r in a.reports if r[0] <= until})
    assert a.figures_by_time(until) == [(t, a.figures(until=t)) for t in times]
