"""A Windows PID reused between ``netstat -ano`` and ``tasklist``.

netstat gives each listener's PID and tasklist names it, moments apart; Windows hands the PID of an
ended process to the next one it starts.  A listener whose process ended between the two took the
name of whatever got its PID next, and so that program's exception: ``evil.exe`` on 0.0.0.0:3389
passed as the RDP ``svchost.exe`` an exception allows.  Neither tool prints start times, so the
capture lists the processes before netstat too (``tasklist-before.csv``): a name is proven only when
both lists give the PID one image; otherwise (another image, a PID absent before, or no list before
in a bundle of an older script) the owner is unnamed and a listener an exception would decide is
not_reviewed.

Each case copies the ``windows-audited`` fixture bundle, edits the lists, and replays it with
``lbaudit evaluate --target replay:DIR`` in-process.
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
