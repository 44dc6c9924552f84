"""CLI commands, one module per feature area (attestation, coverage, collection, diff).

Each command is listed by name in :data:`auditor.cli.COMMANDS` ("module:function" and its short
help) and its module is imported only when the command runs.  Commands parse options, call
:mod:`auditor.pipeline` (or the feature's library functions) and print.
"""
