"""auditor.patterns.first_use: module-level regular expressions compiled by their first use, not at
import (issue 16), and the same compiled pattern as ``re.compile`` after."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from auditor.patterns import first_use

REPO = Path(__file__).resolve().parents[1]
# Every first_use pattern of these modules, none of which their import needs.
DEFERRED = {
    "auditor.text": ["_UNSAFE_CHARACTER", "_NOT_DOCUMENT_TEXT", "_NOT_PLAIN_TEXT", "_JSON_ESCAPE_NOT_PLAIN",
                     "_NOT_PLAIN_CHARACTER"],
    "auditor.policy.yamlsafe": ["_LBAUDIT_SCHEMA", "_QUOTED", "_TOKEN_KIND"],
    "auditor.domain.kernel_cmdline": ["_GRUB_CMDLINE", "_GRUB_KERNEL", "_GRUB_KERNELOPTS"],
    "auditor.checks.drift_sysctl": ["_SPANS", "_NOT_DECIMAL"],
    "auditor.checks._transparency": ["_RELEASE"],
    "auditor.checks.net_bind_addresses": ["_PORT_RANGE"],
    "auditor.model.policy": ["_DAY"],
    "auditor.storage.jsonfile": ["_TOKEN", "_NON_ASCII", "_ESCAPE_BEFORE_NON_ASCII", "_SURROGATE_ESCAPE", "_SURROGATE",
                                 "_SURROGATE_ESCAPE_AFTER", "_LOW_SURROGATE_ESCAPE", "_KEY_OR_BRACKET",
                                 "_STRING_OR_EMPTY_CONTAINER", "_WHOLE_TOKENS", "_ONE_STRING"],
    "auditor.durations": ["_DURATION", "_PART"],
    "auditor.storage.outputs": ["_PDF_CREATOR", "_TEXT_HEADER"],
    "auditor.checks._sysctl": ["_KERNEL_NUMBER"],
    "auditor.collect.parsers.proc_net": ["_HEX", "_HEX_ADDRESS"],
    "auditor.collect.sysctl_d": ["_PROCPS_LIBRARY"],
    "auditor.collect.fdtables": ["_REGISTERED", "_NAMED_BY_PATH"],
    "auditor.domain.augenrules": ["_SUFFIX"],
    "auditor.collect.audit": ["_PLAIN_VALUE"],
    "auditor.collect.netns": ["_PROC_NET_FILE"],
}


def test_a_pattern_is_compiled_once_by_its_first_use():
    pattern = first_use(r"[0-9]{2}-(?P<x>[a-z]+)", re.IGNORECASE)
    assert pattern.cache_info().currsize == 0
    compiled = pattern()
    assert compiled is pattern()
    assert (compiled.pattern, compiled.flags) == (r"[0-9]{2}-(?P<x>[a-z]+)", re.compile("", re.IGNORECASE).flags)
    assert compiled.fullmatch("12-AbC").group("x") == "AbC"
    assert pattern.cache_info().currsize == 1


def test_importing_the_modules_compiles_none_of_their_deferred_patterns():
    code = ("import importlib, sys\n"
            f"for module, names in {DEFERRED!r}.items():\n"
            "    loaded = importlib.import_module(module)\n"
            "    print(module, [name for name in names if getattr(loaded, name).cache_info().currsize])\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=False, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{module} []" for module in DEFERRED]
