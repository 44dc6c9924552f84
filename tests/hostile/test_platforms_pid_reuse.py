"""A Windows PID reused between ``netstat -ano`` and ``tasklist``.

netstat gives each listener's PID and tasklist names it, moments apart; Windows hands the PID of an
ended process to the next one it starts.  A listener whose process ended between the two took the
name of whatever got its PID next, and so that program's exception: ``evil.exe`` on 0.0.0.0:3389
passed as the RDP ``svchost.exe`` an exception allows.  Neither tool prints start times, so the
capture lists the processes before netstat too (``tasklist-before.csv``): a name is proven only when
both lists give the PID one image; otherwise (another image, a PID absent before, or no list before
in a bundle of an older script) the owner is unnamed and a listener an exception would decide is
not_reviewed.

Native collection (psutil) names a PID after listing the sockets too: a process created after the
list was taken is not proven to be the one that held the socket, and its name is a gap.

Each bundle case copies the ``windows-audited`` fixture bundle, edits the lists, and replays it with
``lbaudit evaluate --target replay:DIR`` in-process; the native cases give psutil_listeners the
psutil stand-in of tests/collect/test_native_dispatch.py (CI has no Windows host).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.bundles import replay_edited

RDP_ALLOWED = """\
id: rdp-allowed
version: "1"
owner: Security Engineering
rules:
  - id: listeners
    check: net.bind_addresses
    params:
      allow: [loopback]
      exceptions:
        - match: {process: svchost.exe, ports: [3389], protocol: tcp}
          allow: [any]
          reason: RDP is the management path
"""
SVCHOST = '"svchost.exe","1096","Services","0","18,420 K"\n'


def replay(tmp_path: Path, before: str | None) -> tuple[int, dict, list[str]]:
    def edit(directory: Path) -> None:
        path = directory / "tasklist-before.csv"
        if before is None:
            path.unlink()
        else:
            path.write_text(path.read_text().replace(SVCHOST, before))
    code, found, _ = replay_edited(tmp_path, "windows-audited", edit, RDP_ALLOWED)
    gaps = json.loads((tmp_path / "evidence.json").read_text())["snapshot"]["gaps"]
    return code, found, [g["reason"] for g in gaps if g["path"][-1:] == ["name"]]


def test_control_case_one_image_on_both_sides_of_netstat_is_named(tmp_path):
    code, found, names = replay(tmp_path, SVCHOST)
    assert code == 1  # wininit on 0.0.0.0:49664 fails
    assert names == []
    assert found[("listeners", "tcp 0.0.0.0:3389 svchost.exe pid 1096")]["status"] == "pass"


def test_a_pid_of_another_image_before_netstat_is_not_a_name(tmp_path):
    code, found, names = replay(tmp_path, '"evil.exe","1096","Console","1","2,000 K"\n')
    assert code == 1  # other listeners fail (fail outranks incomplete)
    assert ("listeners", "tcp 0.0.0.0:3389 svchost.exe pid 1096") not in found
    # was pass: evil.exe's 0.0.0.0:3389 took svchost.exe's name and its exception
    rdp = found[("listeners", "tcp 0.0.0.0:3389 ? pid 1096")]
    assert rdp["status"] == "not_reviewed"
    assert rdp["reason"].endswith("the rules that could apply disagree: exception 1 would allow it, the default allow "
                                  "list would not")
    assert set(names) == {"PID 1096 is evil.exe in bundle file tasklist-before.csv, listed before netstat, and "
                          "svchost.exe in bundle file tasklist.csv, listed after it: the process ended and Windows "
                          "gave its PID to another, and which of them held the socket cannot be told"}


def test_a_pid_absent_before_netstat_is_not_a_name(tmp_path):
    code, found, names = replay(tmp_path, "")
    assert code == 1
    assert found[("listeners", "tcp 0.0.0.0:3389 ? pid 1096")]["status"] == "not_reviewed"
    assert set(names) == {"PID 1096 is not in bundle file tasklist-before.csv, listed before netstat, and is "
                          "svchost.exe in bundle file tasklist.csv, listed after it: the process started during the "
                          "capture, and whether it or an earlier holder of its PID held the socket cannot be told"}


def test_a_bundle_without_the_list_before_netstat_names_no_owner(tmp_path):
    code, found, names = replay(tmp_path, None)
    assert code == 1
    assert found[("listeners", "tcp 0.0.0.0:3389 ? pid 1096")]["status"] == "not_reviewed"
    assert ("PID 1096 is svchost.exe in bundle file tasklist.csv, listed after netstat, and whether it was another "
            "process when netstat listed the socket (Windows reuses the PIDs of ended processes) cannot be ruled out "
            "without the list taken before it: bundle file tasklist-before.csv: missing from the bundle (written by "
            "an older lbaudit capture script? capture the host again with this version's script)") in names


# Native collection: psutil lists the sockets, then names each PID; a process created after the
# list was taken holds a PID the socket's owner may have ended with.
def _native_rdp(started: float) -> tuple[str | None, list[str]]:
    import socket
    import time

    from auditor.collect.platforms.native import psutil_listeners
    from tests.collect.test_native_dispatch import Addr, Conn, Psutil

    rdp = Conn(1, socket.AF_INET, socket.SOCK_STREAM, Addr("0.0.0.0", 3389), (), "LISTEN", 1096)
    listeners, gaps = psutil_listeners(Psutil([rdp], {1096: "svchost.exe"}, started={1096: time.time() + started}))
    assert listeners is not None
    return listeners[0].processes[0].name, [g.reason for g in gaps]


def test_control_case_natively_a_process_older_than_the_socket_list_is_named():
    assert _native_rdp(-3600.0) == ("svchost.exe", [])


def test_natively_a_process_younger_than_the_socket_list_is_not_a_name():
    # was svchost.exe: the PID's new holder named the socket evil.exe had listened on
    assert _native_rdp(3600.0) == (None, ["psutil: pid 1096 is a process started after the socket list was taken: "
                                          "the socket's owner may have ended and its PID been given to it"])
