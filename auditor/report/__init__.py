"""Reporters: every output format is rendered from the evidence, never by re-evaluating.

A reporter module in this package defines a module-level :class:`Reporter`; third parties add
theirs through the ``lbaudit.reporters`` entry-point group.  The CLI looks formats up by name in
:func:`load_reporters` -- no if-chains on format strings.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

from auditor.errors import RegistryError
from auditor.model.evidence import Evidence
from auditor.plugins import load_entry_points, plugins_enabled

REPORTERS_GROUP = "lbaudit.reporters"


@dataclass(frozen=True)
class ReportContext:
    evidence_bytes: bytes  # the exact bytes of the evidence file the report is rendered from
    evidence_path: str | None = None  # how the report should refer to that file
    signature_fingerprint: str | None = None  # SHA-256 fingerprint of the key that signed the evidence
    assessor: str | None = None  # who ran the assessment (--assessor); reporters fall back to the policy owner


@dataclass(frozen=True)
class Reporter:
    name: str  # the --format value
    extension: str  # file name suffix, e.g. ".sarif"
    description: str
    render: Callable[[Evidence, ReportContext], bytes]


def load_reporters(plugins: bool | None = None) -> dict[str, Reporter]:
    """Built-in reporters plus, unless disabled (:func:`auditor.plugins.plugins_enabled`), every
    ``lbaudit.reporters`` entry point."""
    if plugins is None:
        plugins = plugins_enabled()
    found: dict[str, Reporter] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Reporter):
                if value.name in found:
                    raise RegistryError(f"reporter {value.name!r} declared twice")
                found[value.name] = value
    if plugins:
        for ep in load_entry_points(REPORTERS_GROUP):
            reporter = ep.loaded
            if not isinstance(reporter, Reporter):
                raise RegistryError(f"plugin entry point {ep.name!r} ({ep.value}) is not a Reporter")
            if reporter.name in found:
                raise RegistryError(f"{ep.origin} ({ep.value}) shadows reporter {reporter.name!r}")
            found[reporter.name] = reporter
    return found
