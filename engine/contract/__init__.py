"""The public contract in code: envelope, intake events and outputs (shared/contract/CONTRACT.md)."""
