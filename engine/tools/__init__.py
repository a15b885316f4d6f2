"""Command-line tools for field-app developers and supervisors: publish, tail, schemas."""
