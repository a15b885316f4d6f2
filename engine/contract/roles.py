"""Who may make each record: a record states an act, and the act is someone's to state.

The contract names the role for some records: a review by an inspector or an expert, an
extension decided by a supervisor, a disaster report by an info officer, an order or a violation
by two inspectors. Where it names none, a record is held to the body whose act it states, as a
district would hold a paper one: a verification (核实) is the department's, so an enterprise
cannot find its own hazard unfounded, nor a member of the public dismiss a grid worker's report;
an alert is taken on and closed by those who respond to it, not by a passer-by whose phone would
stop the handover chain and cancel the public warning; rectification records are the side that
answers for the work (an enterprise, or for a public place the town's people), never an anonymous
phone or a sensor; and a law-enforcement inspection is made by law-enforcement officers.

One table serves the intake models (engine/contract/intake.py, enforcement.py), which give the
precise rejection, and the fast path (engine/intake/fast.py), which accepts only what they would.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticCustomError

from engine.contract.common import Role

_OFFICIALS = frozenset({Role.inspector, Role.supervisor})
_RESPONDERS = frozenset({Role.grid_worker, Role.info_officer, Role.inspector, Role.supervisor})
_ANSWERABLE = frozenset(Role) - {Role.public, Role.sensor}
LAW_ENFORCEMENT = frozenset({Role.inspector})
"""The role that counts among a law-enforcement act's two officers (行政处罚法 art. 42): the contract
has an order and a violation made by "two inspectors", and an inspection's list is its `inspectors`;
a supervisor signs beside them but is not counted as one."""

# act: (the roles that may state it, the error's type, what the error says the act is and who makes it)
ACTS: dict[str, tuple[frozenset[Role], str, str]] = {
    # As the contract names them (section 3).
    "review": (frozenset({Role.inspector, Role.expert}), "reviewer_role",
               "a review is made by an inspector or an expert"),
    "decide_extension": (frozenset({Role.supervisor}), "decider_role",
                         "an extension is decided by a supervisor"),
    "report_disaster": (frozenset({Role.info_officer}), "not_info_officer",
                        "a disaster report is filed by an info_officer (灾害信息员)"),
    # Where the contract names none: the body whose act the record states.
    "verify": (frozenset({Role.inspector, Role.expert, Role.supervisor}), "verifier_role",
               "a verification (核实) is the department's: made by an inspector, an expert or a supervisor"),
    "rectify": (_ANSWERABLE, "rectifier_role",
                "a rectification record is made by whoever answers for the work (the enterprise, or for a "
                "public place the town's grid worker or an official)"),
    "respond": (_RESPONDERS, "responder_role",
                "an alert is taken on and closed by those who respond to it: a grid worker, an info "
                "officer, an inspector or a supervisor"),
    "officiate": (_OFFICIALS, "official_role",
                  "an enforcement record is an official's: made by an inspector or a supervisor"),
    # The legal-review office (法制审核): its officials, or the counsel it engages (法律顾问, an expert).
    "legal_review": (_OFFICIALS | {Role.expert}, "official_role",
                     "a legal review is the legal-review office's (法制审核): made by an inspector, a "
                     "supervisor or an expert"),
}

ROLES = {act: frozenset(role.value for role in roles) for act, (roles, _, _) in ACTS.items()} | {
    "law_enforcement": frozenset(role.value for role in LAW_ENFORCEMENT)}
"""The roles of each act (and of law-enforcement officers) as text, as the fast path reads them."""

SETS_DEADLINE = frozenset({Role.inspector.value, Role.supervisor.value})
"""Who sets a hazard's rectification deadline on a report (contract section 5: "unless the
inspector sets `rectify_by`"); a report by anyone else has the grade's window."""


def check_role(act: str, actor: Any) -> Any:
    """`actor` (an Actor) if its role may state `act`; else the error saying who makes it."""
    roles, kind, says = ACTS[act]
    if actor.role not in roles:
        raise PydanticCustomError(kind, says + ", not '{role}'", {"role": actor.role.value})
    return actor


def law_enforcement_officers(actors: list[Any]) -> int:
    """How many of `actors` (Actors) are law-enforcement officers (`LAW_ENFORCEMENT`)."""
    return sum(1 for a in actors if a.role in LAW_ENFORCEMENT)
