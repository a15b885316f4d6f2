"""The machinery every decision core stands on: hazards, alerts, enterprises and plan towns.

A core (engine/decide, engine/alerts, engine/enterprise, engine/plan/tracking.py)
holds only its own rules: which facts an event records, which clocks run, and
what they send. What they share lives here once, and no core imports another
core's machinery:

- `entries`: the timeline entry (`Entry`) and the data of each entry type
  (`DATA_TYPES`), as TypedDicts;
- `apply`: the apply loop (`apply_entry`, `advance_clocks`; `owned` for a state
  the caller hands over), `entry_time`, `CLOCK_TYPE`, `UnknownEntryType`;
- `state`: the redelivery window (`APPLIED`, `entry_hash`), the history kept
  outside the decision, and `HistoryState` (encode/decode of hazards and alerts);
- `ids`: deterministic output ids and clock-firing ids;
- `outputs`: the output record `Out` and the CloudEvent envelope;
- `escalation`: the one builder of `safety.escalation.raised`;
- `targets`: the target names every core resolves alike, each unit once;
- `time`: epoch seconds from and to RFC 3339, and `after`, every core's deadline;
- `scope`: a field-app token's towns held to the subject's town where only the
  state knows it (an entry sent ahead of its subject kept waiting, then applied
  or rejected), and the copies of such an entry other senders sent;
- `checker`: the rules-file checker the hazard and alert rule loaders stand on;
- `replay`: the in-memory loop over many subjects of one core.
"""
