"""hazard-engine: turns field reports and alerts into escalations that someone must act on."""

__version__ = "0.1.0"
