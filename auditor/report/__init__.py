"""Reporters: every output format is rendered from the evidence, never by re-evaluating.

A built-in reporter is a module-level :class:`Reporter` named in :data:`BUILTIN_REPORTERS`; third
parties add theirs through the ``lbaudit.reporters`` entry-point group.  The CLI looks formats up by
name (:func:`select_reporters`) -- no if-chains on format strings -- and imports only the reporters
it is asked for, so ``lbaudit evaluate`` without ``--pdf`` never loads reportlab.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Callable

from auditor.errors import RegistryError
from auditor.model.evidence import Evidence, ReporterPluginRecord
from auditor.model.records import record
from auditor.plugins import REPORTERS_GROUP as REPORTERS_GROUP  # re-exported: the group's name
from auditor.plugins import LoadedEntryPoint, entry_point_named, load_entry_points, plugin_text, plugins_enabled


@record  # (a frozen dataclass at a quarter of the cost: auditor/model/records.py)
class ReportContext:
    evidence_bytes: bytes  # the exact bytes of the evidence file the report is rendered from
    evidence_path: str | None = None  # how the report should refer to that file
    signature_fingerprint: str | None = None  # SHA-256 fingerprint of the key that signed the evidence
    assessor: str | None = None  # who ran the assessment (--assessor); reporters fall back to the policy owner
    org_name: str | None = None  # whose assessment it is (--org-name), printed on the cover
    org_logo: bytes | None = None  # the organisation's logo, PNG or JPEG bytes (--org-logo, checked on reading)
    pdf_signer: str | None = None  # the certificate that will sign the PDF (PAdES, --pdf-cert), as it is named


@dataclass(frozen=True)
class Reporter:
    name: str  # the --format value
    extension: str  # file name suffix, e.g. ".sarif" (a plugin's: EXTENSION_PATTERN)
    description: str
    render: Callable[[Evidence, ReportContext], bytes]


# Every built-in format: name -> "module:attribute" of its Reporter.  A reporter's module is imported
# only when that format is rendered (like auditor.cli.COMMANDS), so an evaluate that writes only the
# evidence never loads reportlab, and tests/report/test_registry.py checks this table against the
# Reporter each module of the package defines.
BUILTIN_REPORTERS: dict[str, str] = {
    "json": "auditor.report.evidence:REPORTER",
    "hdf": "auditor.report.hdf:REPORTER",
    "html": "auditor.report.html:REPORTER",
    "junit": "auditor.report.junit:REPORTER",
    "oscal": "auditor.report.oscal:REPORTER",
    "pdf": "auditor.report.pdf:REPORTER",
    "prometheus": "auditor.report.prometheus:REPORTER",
    "sarif": "auditor.report.sarif:REPORTER",
    "text": "auditor.report.console:REPORTER",
}


def _builtin(name: str) -> Reporter:
    module_name, _, attribute = BUILTIN_REPORTERS[name].partition(":")
    reporter = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(reporter, Reporter) or reporter.name != name:
        raise RegistryError(f"BUILTIN_REPORTERS[{name!r}] names {BUILTIN_REPORTERS[name]}, not the reporter {name!r}")
    return reporter


# A report is written as <out-dir>/<policy id><extension>: the extension is the end of a file name,
# never a path.  A plugin's ".d/report.txt" wrote into out/corp.d, a directory the user never named
# (through it, when it was a link to a directory elsewhere), and "/../../x" beside the out dir's parent.
EXTENSION_PATTERN = re.compile(r"\.[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


# A reporter's name is the --format value that selects it (comma-separated), the name the formats are
# listed and sorted by, and the format its evidence records: a plugin's 5 (a number) was exit 70 at
# every evaluate, ESC went into the evidence, and "", "a b" or "a,b" no --format could name.
FORMAT_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


def _refuse_unmatched(ep: LoadedEntryPoint, what: str, value: object, pattern: re.Pattern[str], expected: str) -> None:
    """RegistryError unless a reporter plugin's ``what`` (its name, its extension) is a string
    ``pattern`` matches whole; the message shows the value as plain text and says what was expected."""
    if isinstance(value, str) and pattern.fullmatch(value):
        return
    shown = plugin_text(repr(value)) if isinstance(value, str) else f"of type {type(value).__name__}"
    raise RegistryError(f"{entry_point_named(ep.name, ep.value, ep.origin)}: its {what} {shown} is not {expected}")


def _plugin_entry_points() -> dict[str, tuple[Reporter, LoadedEntryPoint]]:
    """Every ``lbaudit.reporters`` entry point by format, checked: a Reporter, no built-in name
    shadowed, no name declared twice, an extension that is a file name suffix."""
    found: dict[str, tuple[Reporter, LoadedEntryPoint]] = {}
    for ep in load_entry_points(REPORTERS_GROUP):
        reporter = ep.loaded
        if not isinstance(reporter, Reporter):
            raise RegistryError(f"{entry_point_named(ep.name, ep.value, ep.origin)} is not a Reporter")
        _refuse_unmatched(ep, "name", reporter.name, FORMAT_NAME_PATTERN,
                          "a format name (a letter or digit, then at most 31 letters, digits, '.', '-' or '_'): "
                          "it is the --format value that selects it")
        _refuse_unmatched(ep, "extension", reporter.extension, EXTENSION_PATTERN,
                          "a file name suffix (a '.', then at most 32 letters, digits, '.', '-' or '_'): a report "
                          "is written as <out-dir>/<policy id><extension>")
        if reporter.name in BUILTIN_REPORTERS or reporter.name in found:
            raise RegistryError(f"{ep.origin} ({ep.value}) shadows reporter {reporter.name!r}")
        found[reporter.name] = (reporter, ep)
    return found


def _plugin_reporters() -> dict[str, Reporter]:
    return {name: reporter for name, (reporter, _) in _plugin_entry_points().items()}


def reporter_plugin_records(plugins: bool | None = None) -> list[ReporterPluginRecord]:
    """The reporter plugins a run loads (none when autoload is off), for the evidence: entry point,
    format, distribution and version, in entry-point order.  Loading them is the same loud step as
    :func:`select_reporters`."""
    if plugins is None:
        plugins = plugins_enabled()
    if not plugins:
        return []
    return [ReporterPluginRecord(entry_point=ep.name, format=name, distribution=ep.distribution, version=ep.version)
            for name, (_, ep) in _plugin_entry_points().items()]


def select_reporters(names: list[str], plugins: bool | None = None) -> dict[str, Reporter]:
    """The reporters called ``names``, in that order, importing only those built-ins; plugins (unless
    disabled, :func:`auditor.plugins.plugins_enabled`) are all loaded, so a broken one is a loud
    error on every run, as before.  Unknown names are a :class:`KeyError`, its arguments."""
    if plugins is None:
        plugins = plugins_enabled()
    extra = _plugin_reporters() if plugins else {}
    unknown = [name for name in names if name not in BUILTIN_REPORTERS and name not in extra]
    if unknown:
        raise KeyError(*unknown)
    return {name: extra[name] if name in extra else _builtin(name) for name in names}


def reporter_names(plugins: bool | None = None) -> list[str]:
    """Every format name, built-in and (unless disabled) plugin, sorted; imports no built-in reporter."""
    if plugins is None:
        plugins = plugins_enabled()
    return sorted([*BUILTIN_REPORTERS, *(_plugin_reporters() if plugins else {})])


def load_reporters(plugins: bool | None = None) -> dict[str, Reporter]:
    """Every reporter, built-in plus, unless disabled (:func:`auditor.plugins.plugins_enabled`), every
    ``lbaudit.reporters`` entry point.  Imports them all: for listing, not for a run."""
    return select_reporters(reporter_names(plugins), plugins)
