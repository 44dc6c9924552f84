"""An excluded-port-range capture cut at the end of a row lost every exclusion after it unseen.

A cut mid-line is refused (test_platforms_cut_values.py), but a copy or a write interrupted right
after a line end leaves rows that all parse: Hyper-V's blocks of 100 ports after the first row were
gone, and the tcp/ipv4 pool passed with 55,536 ports where 25,536 are left.  netsh ends the table
with its footnote in every language, after the rows and with no rows too ("* - Administered port
exclusions.", "* - Exclusions de ports administrées.", "* - 管理的端口排除。"): an output without a
line starting with "*" after the dashes ends before netsh's end, so its exclusions are a gap.

Each case copies the ``windows-audited`` fixture bundle, rewrites its tcp/ipv4 table and replays it
with ``lbaudit evaluate --target replay:DIR`` in-process (policies/corp.yaml).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import replay_edited

POOL = ("ephemeral-pool", "ephemeral port pool (tcp/ipv4 dynamic port range)")
BLOCKS = "".join(f"{20000 + 100 * i:>10}  {20099 + 100 * i:>10}\r\n" for i in range(300)).encode()
HEAD = b"\r\nProtocol tcp Port Exclusion Ranges\r\n\r\nStart Port    End Port\r\n----------    --------\r\n"


def _replay(tmp_path: Path, table: bytes) -> dict:
    def edit(directory: Path) -> None:
        (directory / "netsh-excludedportrange-tcp.txt").write_bytes(table)

    return replay_edited(tmp_path, "windows-audited", edit)[1][POOL]


def test_a_table_cut_at_the_end_of_its_first_row_is_not_a_pool_without_the_rest(tmp_path):
    pool = _replay(tmp_path, HEAD + b"      5357        5357\r\n")  # BLOCKS and the footnote cut off
    assert pool["status"] == "not_reviewed"  # was pass: 55,536 ports where 25,536 are left
    assert ("bundle file netsh-excludedportrange-tcp.txt: not understood: no footnote after the rows (a line "
            "starting with '*', '* - Administered port exclusions.' in English)") in pool["reason"]


@pytest.mark.parametrize("footnote", [b"* - Administered port exclusions.",
                                      "* - Exclusions de ports administrées.".encode(),
                                      "* - 管理的端口排除。".encode()])
def test_a_whole_table_in_any_language_is_read(tmp_path, footnote):
    pool = _replay(tmp_path, HEAD + b"      5357        5357\r\n" + BLOCKS + b"\r\n" + footnote + b"\r\n\r\n")
    assert pool["status"] == "fail", pool  # below corp.yaml's minimum pool: every block read
    assert pool["observed"]["pool_size"] == 25_536  # 10000-65535 less 20000-49999


def test_an_empty_table_with_its_footnote_is_no_exclusions(tmp_path):
    pool = _replay(tmp_path, HEAD + b"\r\n* - Administered port exclusions.\r\n\r\n")
    assert pool["status"] != "not_reviewed", pool
