"""Hostile macOS audit_control masks judged in libbsm's order, on libbsm's class names.

``getauditflagsbin`` (OpenBSM libbsm/bsm_flags.c) builds a mask from nothing, one ``,``-separated
class after another: a class adds its bits (``ADD_TO_MASK``), a ``^`` class takes them away
(``SUB_FROM_MASK``), for success, failure or both (``+``/``-``/neither).  So ``^nt,nt`` audits the
network class (the inclusion comes last) and ``nt,^nt`` does not; ``all,^+nt`` audits only its
failures.  The classes are looked up by name in audit_class(5) exactly as written, and one name it
does not hold makes libbsm refuse the whole list: ``NT`` or a typo is no class, and a class of the
host's own audit_class (which the capture does not read) holds bits that cannot be known.

Judged as "any nt and no ^nt anywhere", ``flags:^nt,nt`` failed a host that audits the network
class, ``flags:all,^-nt`` failed one that audits its successes, and ``flags:lo,NT`` passed a host
whose audit_control libbsm refuses.

Each case copies the ``macos-audited`` fixture bundle, rewrites the flags: and naflags: lines of its
``audit_control`` and replays it with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import replay_edited

AUDIT_ONLY = """\
id: audit-only
version: "1"
owner: Security Engineering
rules:
  - id: socket-audit
    check: audit.socket_logging
"""
NETWORK_CLASS = ("socket-audit", "audit(4) network class")


def replay(tmp_path: Path, value: str) -> tuple[int, dict]:
    def edit(directory: Path) -> None:
        path = directory / "audit_control"
        lines = [line for line in path.read_text().splitlines() if not line.startswith(("flags:", "naflags:"))]
        path.write_text("\n".join([*lines, f"flags:{value}", f"naflags:{value}"]) + "\n")
    code, found, _ = replay_edited(tmp_path, "macos-audited", edit, AUDIT_ONLY)
    return code, found[NETWORK_CLASS]


@pytest.mark.parametrize("value", [
    "^nt,nt",  # excluded, then included: the inclusion is last
    "^all,+nt",
    "all,^-nt",  # every class, then the network class's failures taken away: its successes stay
    "lo,^nt,aa,+nt",
    "+nt,,",  # empty pieces are skipped by strtok_r
])
def test_an_inclusion_after_the_exclusion_audits_the_network_class(tmp_path, value):
    code, finding = replay(tmp_path, value)
    assert finding["status"] == "pass", finding["message"]  # was fail: any ^nt anywhere excluded it


@pytest.mark.parametrize("value", [
    "nt,^nt",
    "+nt,^+nt",
    "all,^nt",
    "all,^+nt",  # successes taken away, failures stay
    "-nt",
    "nt,^all",
])
def test_an_exclusion_after_the_inclusion_leaves_the_successes_unaudited(tmp_path, value):
    code, finding = replay(tmp_path, value)
    assert finding["status"] == "fail", finding["message"]
    assert "does not audit successful network events (class nt)" in finding["message"]
    assert code == 1


@pytest.mark.parametrize("value, name", [
    ("lo,NT", "NT"),  # libbsm looks class names up case-sensitively
    ("lo,xx,+nt", "xx"),  # a typo: libbsm refuses the whole list, nt with it
    ("+nt,netx", "netx"),
])
def test_a_class_not_in_audit_class_is_not_reviewed_never_passed(tmp_path, value, name):
    code, finding = replay(tmp_path, value)
    assert code == 3  # was 0 for lo,xx,+nt: the list libbsm refuses passed
    assert finding["status"] == "not_reviewed"
    assert f"names the class {name!r}, which is not one of the classes audit_class(5) ships" in finding["message"]
    assert "/etc/security/audit_class" in finding["message"]
