"""Command names lsof cut short in a macOS capture.

lsof cuts every command name to 9 characters unless given ``+c 0``, and the capture script ran it
without: ``com.apple`` is what it printed for com.apple.WebKit.Networking and any other program so
named, so an exception for ``com.apple*`` (or one written for a 9-character start of a long name)
let another program's wildcard listener pass.  The script now runs ``lsof +c 0``; lsof prints no
width, so where every name in the listings is at most 9 characters wide (an older script's
capture), a name of 9 characters is unnamed, as is one of 31 characters (as much of a name as
macOS keeps), and a listener an exception would decide is not_reviewed.

Each case copies the ``macos-default`` fixture bundle, writes the listings, and replays it with
``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.bundles import replay_edited

HEADER = "COMMAND     PID   USER   FD   TYPE             DEVICE SIZE/OFF NODE NAME\n"
SYSLOGD = "syslogd     352   root    5u  IPv4 0x8d3f1b2a0c4e7004      0t0  UDP 127.0.0.1:514\n"
APPLE_ALLOWED = """\
id: apple-allowed
version: "1"
owner: Security Engineering
rules:
  - id: listeners
    check: net.bind_addresses
    params:
      allow: [loopback]
      exceptions:
        - match: {process: "com.apple*", ports: [7000], protocol: tcp}
          allow: [any]
          reason: AirPlay receiver
"""


def replay(tmp_path: Path, command: str, udp: str = SYSLOGD) -> tuple[int, dict, list[str]]:
    def edit(directory: Path) -> None:
        row = f"{command}   498  alice   10u  IPv4 0x8d3f1b2a0c4e6f05      0t0  TCP *:7000 (LISTEN)\n"
        (directory / "lsof-tcp-listen.txt").write_text(HEADER + row)
        (directory / "lsof-udp.txt").write_text(HEADER + udp)
    code, found, _ = replay_edited(tmp_path, "macos-default", edit, APPLE_ALLOWED)
    gaps = json.loads((tmp_path / "evidence.json").read_text())["snapshot"]["gaps"]
    return code, found, [g["reason"] for g in gaps if g["path"][-1:] == ["name"]]


def test_control_case_a_whole_name_matches_its_exception(tmp_path):
    code, found, names = replay(tmp_path, "com.apple.AirPlayXPCHelper")
    assert names == []
    assert found[("listeners", "tcp 0.0.0.0:7000 com.apple.AirPlayXPCHelper pid 498")]["status"] == "pass"
    assert code == 0


def test_a_nine_character_name_beside_longer_ones_is_whole(tmp_path):
    udp = "mDNSResponder   380 _mdnsresponder    6u  IPv4 0x8d3f1b2a0c4e7002      0t0  UDP 127.0.0.1:5353\n"
    code, found, names = replay(tmp_path, "com.apple", udp)
    assert names == []
    assert found[("listeners", "tcp 0.0.0.0:7000 com.apple pid 498")]["status"] == "pass"


def test_a_name_lsof_cut_to_nine_characters_matches_no_exception(tmp_path):
    code, found, names = replay(tmp_path, "com.apple")
    assert ("listeners", "tcp 0.0.0.0:7000 com.apple pid 498") not in found  # was pass, on a cut name
    listener = found[("listeners", "tcp 0.0.0.0:7000 ? pid 498")]
    assert listener["status"] == "not_reviewed"
    assert listener["reason"].endswith("the rules that could apply disagree: exception 1 would allow it, the default "
                                       "allow list would not")
    assert names == ["bundle file lsof-tcp-listen.txt line 2: lsof printed the command name 'com.apple', 9 "
                     "characters, and no name in the listings is longer: lsof cuts names to 9 characters without "
                     "+c 0 (a capture by an older lbaudit capture script?), so it may be the start of a longer one "
                     "(capture the host again with this version's script)"]
    assert code == 3


def test_a_name_as_long_as_macos_keeps_matches_no_exception(tmp_path):
    command = "com.apple.AirPlayXPCHelperServic"[:31]
    code, found, names = replay(tmp_path, command)
    assert found[("listeners", "tcp 0.0.0.0:7000 ? pid 498")]["status"] == "not_reviewed"
    assert names == [f"bundle file lsof-tcp-listen.txt line 2: lsof printed the command name {command!r}, 31 "
                     "characters: as many as macOS keeps of a process's name, so it may be the start of a longer one"]


def test_the_capture_script_runs_lsof_for_whole_names():
    from auditor.collect.platforms.probes import capture_script

    script = capture_script("macos")
    assert 'lsof +c 0 -nP -iTCP -sTCP:LISTEN > "$out/lsof-tcp-listen.txt"' in script
    assert 'lsof +c 0 -nP -iUDP > "$out/lsof-udp.txt"' in script


def test_an_escaped_space_does_not_widen_the_listings(tmp_path):
    # "Google Ch" (9 characters, cut) prints as Google\x20Ch: 12 printed, still no name longer than 9
    udp = "Google\\x20Ch   380  alice    6u  IPv4 0x8d3f1b2a0c4e7002      0t0  UDP 127.0.0.1:5353\n"
    code, found, names = replay(tmp_path, "com.apple", udp)
    assert found[("listeners", "tcp 0.0.0.0:7000 ? pid 498")]["status"] == "not_reviewed"  # was pass
    assert len(names) == 2 and names[0].startswith("bundle file lsof-tcp-listen.txt line 2: lsof printed the "
                                                   "command name 'com.apple', 9 characters")
    assert names[1].startswith("bundle file lsof-udp.txt line 2: lsof printed the command name 'Google Ch', 9 "
                               "characters")
