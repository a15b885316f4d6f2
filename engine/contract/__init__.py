"""The public contract in code: the envelope, the intake events, and the outputs (shared/contract/CONTRACT.md)."""
