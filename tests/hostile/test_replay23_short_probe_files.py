"""Bundle files of probes that print a few lines, each filled to the 32 MiB a listing may hold.

Every bundle file was bounded at 32 MiB, the size far above any ``netstat -ano`` of a real host,
whatever its probe: ``netsh int ipv4 show dynamicport tcp`` prints six lines, ``hostname`` one.  A
dynamic-port file of 400,000 lines (under text.MAX_LINES) and no line of dashes was searched line
by line for the title's protocol (a regular expression each line) and then for its two numbers: 9 s
each, and a Windows bundle whose eleven short probes were filled so took 76 s and 674 MB to replay
(then judged the ranges not reviewed, as it should).  Each probe now has its own bound
(``Probe.max_bytes``): 1 MiB for those that print a few lines whatever the host (or a few dozen
rows: the excluded port ranges, which took 10 s a file the same way), 32 MiB for the listings that
grow with it; a file past it is a gap naming the bound, not read.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.bundles import CORP, replay_edited

SIZE = 32 * 1024 * 1024 - 4096  # under the 32 MiB a listing may hold
# A netstat-looking row of 84 bytes, so the file stays under text.MAX_LINES (400,000) lines.
ROW = b"  TCP    10.0.0.1:" + b"9" * 40 + b"    0.0.0.0:0    LISTENING    4\r\n"
DYNAMICPORT = [f"netsh-dynamicport-{protocol}{suffix}.txt" for protocol in ("tcp", "udp") for suffix in ("", "6")]


def test_a_dynamic_port_file_of_32_mib_is_a_gap_without_reading_it(tmp_path: Path) -> None:
    def edit(directory: Path) -> None:
        for name in DYNAMICPORT:
            (directory / name).write_bytes(ROW * (SIZE // len(ROW)))

    started = time.process_time()
    code, found, stderr = replay_edited(tmp_path, "windows-default-en", edit, CORP)
    elapsed = time.process_time() - started
    assert code == 1, stderr  # corp fails the bundle's listeners and audit policy, as without the edit
    pools = {subject: f for (rule, subject), f in found.items()
             if rule == "ephemeral-pool" and subject.startswith("ephemeral port pool (")}
    assert len(pools) == 4, sorted(found)
    for finding in pools.values():
        assert finding["status"] == "not_reviewed", finding
        assert "larger than 1,048,576 bytes, far more than this probe prints of any host: not read" in finding["reason"]
    assert elapsed < 15, f"{elapsed:.1f} s of CPU"  # was about 40 s: 9 s a file


def test_excluded_port_range_files_of_32_mib_are_gaps_without_reading_them(tmp_path: Path) -> None:
    """netsh's excluded port ranges are a few dozen rows; 32 MiB of rows without its line of dashes
    took 10 s a file (the title searched line by line), 52 s for a bundle's four."""
    def edit(directory: Path) -> None:
        for name in DYNAMICPORT:
            (directory / name.replace("dynamicport", "excludedportrange")).write_bytes(ROW * (SIZE // len(ROW)))

    started = time.process_time()
    code, found, stderr = replay_edited(tmp_path, "windows-default-en", edit, CORP)
    elapsed = time.process_time() - started
    assert code == 1, stderr
    pools = {subject: f for (rule, subject), f in found.items()
             if rule == "ephemeral-pool" and subject.startswith("ephemeral port pool (")}
    assert len(pools) == 4, sorted(found)
    for finding in pools.values():
        assert finding["status"] == "not_reviewed", finding
        assert "larger than 1,048,576 bytes, far more than this probe prints of any host: not read" in finding["reason"]
    assert elapsed < 15, f"{elapsed:.1f} s of CPU"  # was about 45 s


def test_a_listing_keeps_its_32_mib(tmp_path: Path) -> None:
    """The control: a netstat listing of 2 MiB (a busy host's) is read, not refused by the short bound."""
    filler = b"  TCP    10.0.0.5:50000         10.0.0.9:443           TIME_WAIT       0\r\n"
    rows = 2 * 1024 * 1024 // len(filler)  # TIME_WAIT rows to 2 MiB: a host with many closed connections

    def edit(directory: Path) -> None:
        text = (directory / "netstat-ano.txt").read_bytes()
        (directory / "netstat-ano.txt").write_bytes(text + filler * rows)

    code, found, stderr = replay_edited(tmp_path, "windows-default-en", edit, CORP)
    assert code == 1, stderr
    share = found[("time-wait-headroom", "TIME_WAIT share of the ephemeral pool")]
    assert share["status"] == "fail", share
    counted = int(share["message"].split(" sockets in TIME_WAIT")[0].replace(",", ""))
    assert counted >= rows, share["message"]  # every row added is read (and the fixture's own)
