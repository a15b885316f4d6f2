"""Intake: validate field events, de-duplicate them, and reject what cannot be accepted."""
