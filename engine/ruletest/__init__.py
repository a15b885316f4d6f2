"""Rule tests for the hazard and alert rules: YAML files of field events and the outputs they must cause."""

from engine.ruletest.run import FileResult, run_file

__all__ = ["FileResult", "run_file"]
