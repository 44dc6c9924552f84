"""Bundle files of millions of short lines took minutes and most of a gigabyte to refuse.

A bundle file may hold 32 MiB (bundle.MAX_PROBE_BYTES), and the parsers bound the rows they read
(windows.MAX_ROWS, 200,000), but every output was decoded and split into lines whole first, and
lines that are no row (netstat's title and headers) were skipped without a bound.  32 MiB of
``ab`` lines is eleven million lines: the control-character count of the decoding walked them a
character at a time in Python (4 s), the split held eleven million strings (about 900 MiB), and
netstat's row test ran on each (15 s); a bundle of fifteen such files took 192 s and 1.4 GiB.
Line breaks other than a line feed (a form feed, U+2028, which str.splitlines also splits on)
did the same unseen by a count of line feeds.

An output of more lines than any probe prints of a host is now refused as it is decoded, before
it is split: a gap naming how many lines it holds, so the listeners are not reviewed, in well
under a second.

Each case copies a fixture bundle, writes the huge file into it and replays it with ``lbaudit
evaluate --target replay:DIR`` (in-process for the time, in a process of its own for the memory).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.bundles import BUNDLES, LOOPBACK_ONLY, replay_edited
from tests.cli import run_measuring_peak

SIZE = 32 * 1024 * 1024 - 4096  # under the 32 MiB a bundle file may hold
COLLECTION = ("listeners", "listeners")  # the list as a whole: none could be read


def test_a_netstat_of_millions_of_short_lines_is_refused_in_a_second(tmp_path):
    def edit(directory: Path) -> None:
        (directory / "netstat-ano.txt").write_bytes(b"ab\r\n" * (SIZE // 4))

    started = time.process_time()
    code, found, stderr = replay_edited(tmp_path, "windows-default-en", edit, LOOPBACK_ONLY)
    elapsed = time.process_time() - started
    assert code == 3, stderr
    finding = found[COLLECTION]
    assert finding["status"] == "not_reviewed"
    assert ("bundle file netstat-ano.txt: holds 8,387,584 lines, more than the 400,000 any probe prints of a host: "
            "not read") in finding["reason"]
    assert elapsed < 5, f"{elapsed:.1f} s of CPU"  # was 19 s: a 4 s decoding, then 15 s of skipped lines


@pytest.mark.slow  # a child interpreter measuring its peak, reading 64 MiB of bundle files
def test_form_feeds_and_line_separators_are_lines_too(tmp_path):
    # str.splitlines, which every parser uses, splits on a form feed and on U+2028 as on a line
    # feed: an lsof listing of eleven million form-fed lines peaked at about 900 MiB as it was split.
    directory = tmp_path / "macos-default"
    shutil.copytree(BUNDLES / "macos-default", directory)
    (directory / "lsof-tcp-listen.txt").write_bytes(b"ab\x0c" * (SIZE // 3))
    (directory / "lsof-udp.txt").write_bytes("ab\u2028".encode() * (SIZE // 5))
    (tmp_path / "policy.yaml").write_text(LOOPBACK_ONLY)
    result, peak = run_measuring_peak(tmp_path / "peak", "evaluate", "--policy", tmp_path / "policy.yaml", "--target",
                                      f"replay:{directory}", "--output", tmp_path / "evidence.json", "-q",
                                      "--no-plugins", timeout=120)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert peak < 400 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"  # was about 900 MiB
    evidence = (tmp_path / "evidence.json").read_text()
    assert "bundle file lsof-tcp-listen.txt: holds 11,183,445 lines, more than the 400,000" in evidence
    assert "bundle file lsof-udp.txt: holds 6,710,067 lines, more than the 400,000" in evidence



COMMENTS = b"#a\n" * (SIZE // 3 - 20)  # lines libbsm skips


@pytest.mark.parametrize("name, data, lines", [
    ("audit_control", b"flags:lo,aa,nt\nnaflags:lo,aa,nt\n" + COMMENTS, "11,183,427"),
    ("audit_user", COMMENTS, "11,183,425"),
])
def test_audit_control_and_audit_user_of_millions_of_lines_are_refused_in_a_second(tmp_path, name, data, lines):
    # Read as bytes (libbsm's way, never decoded), these were cut into libbsm's lines whole, eleven
    # million of them, once for flags:, again for naflags: (12 s each) and for audit_user (14 s).
    def edit(directory: Path) -> None:
        (directory / name).write_bytes(data)

    started = time.process_time()
    _, found, stderr = replay_edited(tmp_path, "macos-audited", edit)
    elapsed = time.process_time() - started
    finding = found[("socket-audit", "audit(4) network class")]
    assert finding["status"] == "not_reviewed", stderr  # was pass, after 26 s (audit_control) or 15 s (audit_user)
    assert (f"bundle file {name}: holds {lines} lines, more than the 400,000 any probe prints of a host: "
            "not read") in finding["reason"]
    assert elapsed < 5, f"{elapsed:.1f} s of CPU"
