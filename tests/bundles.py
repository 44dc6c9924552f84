"""Captured Windows and macOS bundles the tests replay (tests/fixtures/bundles, see its README), and
the one-rule policy the platform tests judge them with."""

from __future__ import annotations

from pathlib import Path

BUNDLES = Path(__file__).resolve().parent / "fixtures" / "bundles"

# Only loopback listeners allowed: a listener the parsers miss or misread changes this rule's verdict.
LOOPBACK_ONLY = """\
id: loopback-only
version: "1"
owner: Security Engineering
rules:
  - id: listeners
    check: net.bind_addresses
    params:
      allow: [loopback]
"""
