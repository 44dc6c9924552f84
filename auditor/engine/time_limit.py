"""The time limits of a plugin's check and a plugin's reporter; the mechanism is auditor/time_limit.py
(outside the engine, so that auditor.plugins bounds the import of a plugin with it too)."""

from __future__ import annotations

from auditor.time_limit import CheckTimedOut, Limit, ReporterTimedOut, time_limit

PLUGIN_CHECK_SECONDS = 30.0  # far beyond what judging a snapshot takes (milliseconds per check)
# One report of the whole evidence, not one rule: the built-in PDF of the largest evidence takes
# seconds, so two minutes is far beyond what rendering takes and still ends a hung run.
PLUGIN_REPORTER_SECONDS = 120.0

__all__ = ["CheckTimedOut", "Limit", "PLUGIN_CHECK_SECONDS", "PLUGIN_REPORTER_SECONDS", "ReporterTimedOut", "time_limit"]
