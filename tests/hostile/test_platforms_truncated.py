"""Hostile captured bundles cut off mid-line: the part of a row left parses as a valid row.

``  TCP    [::1]:8080    [::]:0    LISTENING    31`` is what is left of PID 3120's row when the
capture stops there, and ``*:70`` of lsof's ``*:7000``: the rows parse, the listeners after them
are missing, and a host whose first rows are on loopback passed with its wildcard listeners never
seen.  Every listing a probe prints ends its last line with a line end, so a last line without one
is a cut: never read as a row, and the list it belongs to is incomplete (not_reviewed).

Each case copies a fixture bundle, cuts one file, and replays it with ``lbaudit evaluate --target
replay:DIR`` in-process, asserting the exact status and exit code.
"""

from __future__ import annotations

from pathlib import Path

from tests.bundles import CORP, LOOPBACK_ONLY, replay_edited

# The listeners first on loopback, then on every address: cut in the second row's PID.
NETSTAT = ("\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        State           PID\r\n"
           "  TCP    127.0.0.1:8080         0.0.0.0:0              LISTENING       3120\r\n"
           "  TCP    [::1]:8080             [::]:0                 LISTENING       3120\r\n"
           "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1096\r\n"
           "  TCP    10.0.0.15:50211        20.42.65.92:443        TIME_WAIT       0\r\n")


def replay(tmp_path: Path, name: str, edit, policy: Path | str = CORP) -> tuple[int, dict]:
    return replay_edited(tmp_path, name, edit, policy)[:2]

def _cut_after(path: Path, marker: bytes) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:data.index(marker) + len(marker)])


def test_netstat_cut_in_a_pid_is_not_a_pass_of_the_rows_before_it(tmp_path):
    def edit(directory: Path) -> None:
        (directory / "netstat-ano.txt").write_text(NETSTAT, newline="")
        _cut_after(directory / "netstat-ano.txt", b"[::]:0                 LISTENING       31")
    code, found = replay(tmp_path, "windows-default-en", edit, LOOPBACK_ONLY)
    assert code == 3  # incomplete; was 0: 127.0.0.1:8080 and "[::1]:8080 pid 31" passed, 0.0.0.0:3389 unseen
    collection = found[("listeners", "listeners (collection)")]
    assert collection["status"] == "not_reviewed"
    assert collection["reason"] == (
        "some listeners could not be read: bundle file netstat-ano.txt: rows not understood, listeners may be "
        "missing: line 6: the output ends mid-line ('TCP    [::1]:8080             [::]:0                 "
        "LISTENING       31' has no line end): it was cut off, rows after it are missing")
    assert not any(subject.endswith(" pid 31") for _, subject in found)
    assert found[("listeners", "tcp 127.0.0.1:8080 devserver.exe pid 3120")]["status"] == "pass"


def test_a_cut_netstat_leaves_the_time_wait_count_unknown(tmp_path):
    # the TIME_WAIT rows after the cut are missing too: the share is not_reviewed, not a low count
    _, found = replay(tmp_path, "windows-default-en", lambda d: _cut_after(d / "netstat-ano.txt", b"ESTABLISHED     10"))
    share = found[("time-wait-headroom", "TIME_WAIT share of the ephemeral pool")]
    assert share["status"] == "not_reviewed"  # was pass: 0 of the 2 TIME_WAIT rows counted
    assert "rows not understood, TIME_WAIT rows may be missing from the count" in share["reason"]


def test_tasklist_cut_in_a_pid_names_no_process_for_an_exception(tmp_path):
    # '"devserver.exe","31' is what is left of devserver.exe's row (PID 3120): it named PID 31,
    # which holds 0.0.0.0:9000, devserver.exe, and the exception for devserver.exe passed it
    def edit(directory: Path) -> None:
        netstat = directory / "netstat-ano.txt"
        netstat.write_bytes(netstat.read_bytes().replace(
            b"  UDP    0.0.0.0:123", b"  TCP    0.0.0.0:9000           0.0.0.0:0              LISTENING       31\r\n"
                                     b"  UDP    0.0.0.0:123"))
        _cut_after(directory / "tasklist.csv", b'"devserver.exe","31')
    code, found = replay(tmp_path, "windows-default-en", edit, LOOPBACK_ONLY + """\
      exceptions:
        - match: {process: "devserver.exe"}
          allow: [any]
          reason: development server
""")
    finding = found[("listeners", "tcp 0.0.0.0:9000 ? pid 31")]
    assert finding["status"] == "not_reviewed"  # was pass, as "devserver.exe pid 31"
    assert "bundle file tasklist.csv: not understood: the output ends mid-line" in finding["reason"]


def test_reg_query_cut_in_a_value_is_not_judged(tmp_path):
    def edit(directory: Path) -> None:
        _cut_after(directory / "tcpip-parameters.txt", b"MaxUserPort    REG_DWORD    0xff")  # 0xff of 0xfffe
    _, found = replay(tmp_path, "windows-audited", edit)
    headroom = found[("time-wait-headroom",
                      "ephemeral pool headroom at the declared peak connection rate (tcp/ipv4 dynamic port range)")]
    assert headroom["status"] == "not_reviewed"  # was pass, on TcpTimedWaitDelay read before the cut
    assert "tcpip-parameters.txt: not understood: the output ends mid-line ('MaxUserPort    REG_DWORD    0xff'" in (
        headroom["reason"])


def test_lsof_cut_in_a_port_is_not_a_listener_on_another_port(tmp_path):
    code, found = replay(tmp_path, "macos-default", lambda d: _cut_after(d / "lsof-tcp-listen.txt", b"TCP *:70"),
                         LOOPBACK_ONLY)
    assert code == 1
    assert ("listeners", "tcp 0.0.0.0:70 ControlCenter pid 498") not in found  # was a fail on the wrong port
    collection = found[("listeners", "listeners (collection)")]
    assert collection["status"] == "not_reviewed"
    assert "line 6: the output ends mid-line ('ControlCenter   498  alice   10u  IPv4 0x8d3f1b2a0c4e6f05      0t0  TCP *:70'" in (
        collection["reason"])
