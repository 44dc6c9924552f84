"""Hostile macOS audit_user(5) entries that take the network class from a user's login sessions.

libbsm gives a login session the mask of audit_control's ``flags:`` line plus the user's ``always``
classes minus the ``never`` ones of ``/etc/security/audit_user`` (bsm_user.c: ``au_user_mask`` ->
``getfauditflags``: ``ADDMASK`` then ``SUBMASK``).  ``root:lo:nt`` leaves root's sessions without
the network class whatever ``flags:`` says; the capture did not read the file, and ``flags:lo,aa,+nt``
passed "bind, connect and accept are recorded for login sessions".  libbsm walks the file line by
line and stops at the first line it cannot read (a blank line, fewer than three fields, a class
list it refuses): entries after it are never found, and their users get the system mask.

Each case copies the ``macos-audited`` fixture bundle (flags and naflags hold ``+nt``; audit_user
holds OpenBSM's stock ``root:lo:no``), rewrites ``audit_user`` and replays it with ``lbaudit
evaluate --target replay:DIR`` in-process.
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


def replay(tmp_path: Path, edit) -> tuple[int, dict]:
    code, found, _ = replay_edited(tmp_path, "macos-audited", edit, AUDIT_ONLY)
    return code, found[NETWORK_CLASS]


def _write(content: bytes):
    return lambda directory: (directory / "audit_user").write_bytes(content)


@pytest.mark.parametrize("content", [
    b"#\n# stock\n#\nroot:lo:no\n",
    b"root:lo,+nt:no\n",
    b"",  # an empty file: no entry
    b"root:lo:no\n\nalice:lo:nt\n",  # the blank line ends libbsm's walk: alice's entry is never found
    b"root:lo:no\nbob:lo\nalice:lo:nt\n",  # so does a line of two fields
    b"root:lo:no\r\nalice:lo:nt\n",  # 'no\r' is no class: libbsm refuses the line and stops there
    b"alice:lo:^nt\n",  # ^ in a never list takes nt out of the never mask: nothing is taken away
])
def test_control_case_no_reachable_entry_takes_the_network_class_away(tmp_path, content):
    code, finding = replay(tmp_path, _write(content))
    assert (code, finding["status"]) == (0, "pass"), finding["message"]


@pytest.mark.parametrize("content, named", [
    (b"root:lo:nt\n", "root (never: nt)"),
    (b"root:lo:no\nalice:lo:+nt\n", "alice (never: +nt)"),
    (b"root:lo:all\n", "root (never: all)"),
    (b"root:lo:no\nroot:lo,nt:no\nalice:lo:nt\n", "alice (never: nt)"),  # the first entry of a name counts
])
def test_a_never_class_taking_the_network_class_from_a_user_fails(tmp_path, content, named):
    code, finding = replay(tmp_path, _write(content))
    assert code == 1  # was 0: audit_user was never read
    assert finding["status"] == "fail"
    assert f"/etc/security/audit_user takes it from the login sessions of {named}" in finding["message"]


def test_an_unknown_class_in_audit_user_is_not_reviewed(tmp_path):
    code, finding = replay(tmp_path, _write(b"root:lo:xx\nalice:lo:nt\n"))
    assert code == 3
    assert finding["status"] == "not_reviewed"
    assert "the class 'xx' of the entry 'root:lo:xx' is not one of the classes audit_class(5) ships" in finding["message"]


def test_a_host_without_audit_user_passes(tmp_path):
    code, finding = replay(tmp_path, lambda directory: (directory / "audit_user").unlink())
    assert (code, finding["status"]) == (0, "pass")


def test_an_older_bundle_without_audit_user_is_not_reviewed(tmp_path):
    def edit(directory: Path) -> None:
        (directory / "audit_user").unlink()
        (directory / "audit-condition.txt").unlink()
    code, finding = replay(tmp_path, edit)
    assert code == 3
    assert finding["status"] == "not_reviewed"
    assert "bundle file audit_user: not in the bundle, and whether the host has one cannot be told" in (
        finding["message"])
