"""Extra CLI commands, one module per feature area.

Each module defines ``COMMANDS``: a list of click commands that :mod:`auditor.cli` adds to the
``lbaudit`` group, so a feature (attestation, coverage, collection) brings its commands with it.
"""
