"""Hostile ``netstat`` captures whose foreign address is a host name, not ``0.0.0.0:0``.

lbaudit's probe is ``netstat -ano``: addresses as numbers, so a listening socket shows the foreign
address ``0.0.0.0:0`` (``[::]:0``), whatever the state is called in the host's language.  A capture
made by hand with ``netstat -ao`` (no ``-n``) names the host instead: ``WIN-SRV01:0``.  Such a TCP
row was neither a listener nor a TIME_WAIT row, and was dropped without a word: RDP on
``0.0.0.0:3389`` went unseen and a loopback-only policy passed.  A foreign address that is not an
address:port, or a row in the LISTENING state whose foreign address is not the wildcard, is now a
row not understood: the listener list is incomplete (not_reviewed, exit 3), never a pass.

Each case copies the ``windows-default-en`` fixture bundle, writes the captured ``netstat`` output,
and replays it with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import LOOPBACK_ONLY, replay_edited

HEADER = "\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        State           PID\r\n"
LOOPBACK = "  TCP    127.0.0.1:8080         0.0.0.0:0              LISTENING       3120\r\n"


def replay(tmp_path: Path, rows: str) -> tuple[int, dict]:
    def edit(directory: Path) -> None:
        (directory / "netstat-ano.txt").write_bytes((HEADER + LOOPBACK + rows).encode("utf-8"))
    return replay_edited(tmp_path, "windows-default-en", edit, LOOPBACK_ONLY)[:2]


def test_control_case_numeric_rows_are_judged(tmp_path):
    code, found = replay(tmp_path, "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1096\r\n")
    assert code == 1
    assert found[("listeners", "tcp 0.0.0.0:3389 svchost.exe pid 1096")]["status"] == "fail"


@pytest.mark.parametrize("row, why", [
    ("  TCP    0.0.0.0:3389           WIN-SRV01:0            LISTENING       1096\r\n",
     "line 6: foreign address 'WIN-SRV01:0' is not an address:port (netstat run without -n?)"),
    ("  TCP    0.0.0.0:3389           WIN-SRV01:0            ABHÖREN         1096\r\n",
     "line 6: foreign address 'WIN-SRV01:0' is not an address:port (netstat run without -n?)"),
    ("  TCP    0.0.0.0:3389           10.0.0.99:0            LISTENING       1096\r\n",
     "line 6: a LISTENING row whose foreign address '10.0.0.99:0' is not 0.0.0.0:0 or [::]:0"),
])
def test_a_listener_row_with_a_named_foreign_address_is_not_dropped(tmp_path, row, why):
    code, found = replay(tmp_path, row)
    assert code == 3  # was 0: 0.0.0.0:3389 unseen, and 127.0.0.1:8080 passed alone
    collection = found[("listeners", "listeners (collection)")]
    assert collection["status"] == "not_reviewed"
    assert collection["reason"] == ("some listeners could not be read: bundle file netstat-ano.txt: rows not "
                                    f"understood, listeners may be missing: {why}")
    assert found[("listeners", "tcp 127.0.0.1:8080 devserver.exe pid 3120")]["status"] == "pass"
