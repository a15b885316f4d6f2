"""The base of the engine's own exceptions; each package subclasses it for what it means."""


class EngineError(Exception):
    """Something the engine cannot go on with, said in words an operator can act on."""
