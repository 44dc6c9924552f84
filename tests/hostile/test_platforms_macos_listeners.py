"""Hostile macOS listener captures: lsof run without root, and the rows real lsof prints.

lsof shows the sockets of other users' processes only to root, and says nothing when it cannot:
a capture run without sudo lists the user's own listeners and none of the root daemons' (sshd on
``*:22``), and a host whose user listens on loopback passed.  The capture records ``id -u``; a
bundle without it (an older capture script) or made as another user has an incomplete listener
list (not_reviewed).  An unbound UDP socket, ``UDP *:*`` in lsof, listens nowhere and is no row
lsof could not be understood.

Each case copies the ``macos-default`` fixture bundle, edits it, and replays it with ``lbaudit
evaluate --target replay:DIR`` in-process, asserting the exact status and exit code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import LOOPBACK_ONLY, replay_edited

HEADER = "COMMAND     PID   USER   FD   TYPE             DEVICE SIZE/OFF NODE NAME\n"
# What lsof prints for alice without sudo: her own processes only (root's launchd *:22 is not there).
ALICE_TCP = HEADER + "node       2210  alice   21u  IPv4 0x8d3f1b2a0c4e6f11      0t0  TCP 127.0.0.1:3000 (LISTEN)\n"
ALICE_UDP = HEADER + "node       2210  alice   22u  IPv4 0x8d3f1b2a0c4e7021      0t0  UDP 127.0.0.1:3001\n"


def replay(tmp_path: Path, edit) -> tuple[int, dict]:
    return replay_edited(tmp_path, "macos-default", edit, LOOPBACK_ONLY)[:2]

def as_alice(uid_text: str | None):
    def edit(directory: Path) -> None:
        (directory / "lsof-tcp-listen.txt").write_text(ALICE_TCP)
        (directory / "lsof-udp.txt").write_text(ALICE_UDP)
        if uid_text is None:
            (directory / "id-u.txt").unlink()
        else:
            (directory / "id-u.txt").write_text(uid_text)
    return edit


def test_control_case_a_root_capture_of_loopback_listeners_passes(tmp_path):
    code, found = replay(tmp_path, as_alice("0\n"))
    assert code == 0
    assert found[("listeners", "tcp 127.0.0.1:3000 node pid 2210")]["status"] == "pass"
    assert ("listeners", "listeners (collection)") not in found


@pytest.mark.parametrize("uid_text, reason", [
    ("501\n", "bundle file id-u.txt: the capture ran as uid 501, not root: lsof listed only the sockets of that "
              "user's processes (run the capture script with sudo)"),
    (None, "whether lsof ran as root (and so saw every user's sockets) is unknown: bundle file id-u.txt: missing "
           "from the bundle (written by an older lbaudit capture script? capture the host again with this "
           "version's script)"),
    ("uid=501(alice) gid=20(staff)\n", "whether lsof ran as root (and so saw every user's sockets) is unknown: "
                                       "bundle file id-u.txt: not understood: expected one number: not the output "
                                       "of id -u"),
])
def test_a_capture_not_known_to_run_as_root_has_an_incomplete_listener_list(tmp_path, uid_text, reason):
    code, found = replay(tmp_path, as_alice(uid_text))
    assert code == 3  # incomplete; was 0: alice's 127.0.0.1:3000 passed, root's *:22 never listed
    collection = found[("listeners", "listeners (collection)")]
    assert collection["status"] == "not_reviewed"
    assert collection["reason"] == f"some listeners could not be read: {reason}"
    assert found[("listeners", "tcp 127.0.0.1:3000 node pid 2210")]["status"] == "pass"  # what was seen is judged


def test_an_unbound_udp_socket_is_no_row_lsof_could_not_understand(tmp_path):
    def edit(directory: Path) -> None:
        udp = directory / "lsof-udp.txt"
        udp.write_text(udp.read_text() + "UserEventA  402  alice    5u  IPv4 0x8d3f1b2a0c4e7011      0t0  UDP *:*\n"
                                          "identitys   517  alice    9u  IPv6 0x8d3f1b2a0c4e7012      0t0  UDP *:*\n")
        (directory / "lsof-tcp-listen.txt").write_text(ALICE_TCP)
        udp.write_text(HEADER + "syslogd     352   root    5u  IPv4 0x8d3f1b2a0c4e7004      0t0  UDP 127.0.0.1:514\n"
                       + "".join(udp.read_text().splitlines(keepends=True)[-2:]))
    code, found = replay(tmp_path, edit)
    assert code == 0  # was 3: every real Mac's listener list was "rows not understood"
    assert ("listeners", "listeners (collection)") not in found
    assert found[("listeners", "udp 127.0.0.1:514 syslogd pid 352")]["status"] == "pass"
