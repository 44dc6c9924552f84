"""Hostile offline images: line ends only systemd sees.

systemd reads sysctl.d files, unit files and drop-ins with read_line(), for which "\\r" and NUL end
a line as "\\n" does; lbaudit split on "\\n" alone.  So ``# note<CR>net.ipv4.ip_local_port_range =
60000 60100`` was a comment to lbaudit and a 101-port pool to systemd-sysctl, and ``# note<NUL>
ListenStream=0.0.0.0:9001`` in a drop-in a comment to lbaudit and a wildcard listener to systemd:
both passed.  procps' ``sysctl --system`` (the applier where no systemd-sysctl is installed) reads
with fgets, for which the first line stays a comment.  Each reading was checked against the real
programs (systemd-sysctl 252 and procps sysctl in a new network namespace, systemd-analyze verify).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.test_offline_images import ETC_UNITS, UNITS, evaluate, listener_statuses, status, write
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

NARROW = "net.ipv4.ip_local_port_range = 60000 60100"
LINE_ENDS = {"carriage-return": "\r", "nul": "\0"}


def _with_systemd_sysctl(image: Path) -> None:
    (image / "usr/lib/systemd").mkdir(parents=True, exist_ok=True)
    (image / "usr/lib/systemd/systemd-sysctl").write_bytes(b"")  # the boot applies sysctl.d with it


@pytest.mark.parametrize("end", sorted(LINE_ENDS))
def test_sysctl_line_after_a_comment_ended_by_cr_or_nul_is_applied_by_systemd_sysctl(image: Path, end: str) -> None:
    _with_systemd_sysctl(image)
    write(image, "etc/sysctl.d/20-x.conf", f"# tuning{LINE_ENDS[end]}{NARROW}\n")
    code, findings = evaluate(image)
    assert status(findings, "pool", "ephemeral port pool") == "fail"  # 101 ports
    assert code == 1


@pytest.mark.parametrize("end", sorted(LINE_ENDS))
def test_control_case_procps_reads_the_same_line_as_a_comment(image: Path, end: str) -> None:
    write(image, "etc/sysctl.d/20-x.conf", f"# tuning{LINE_ENDS[end]}{NARROW}\n")  # no systemd-sysctl
    code, findings = evaluate(image)
    assert status(findings, "pool", "ephemeral port pool") == "pass"
    assert code == 0


@pytest.mark.parametrize("end", sorted(LINE_ENDS))
@pytest.mark.parametrize("where", ["unit", "drop-in"])
def test_listen_line_after_a_line_ended_by_cr_or_nul_is_a_listener(image: Path, end: str, where: str) -> None:
    if where == "unit":
        write(image, f"{UNITS}/local.socket",
              f"[Unit]\nDescription=local{LINE_ENDS[end]}[Socket]\nListenStream=127.0.0.1:8081\n"
              f"# moved{LINE_ENDS[end]}ListenStream=0.0.0.0:9001\n[Install]\nWantedBy=sockets.target\n")
    else:
        write(image, f"{ETC_UNITS}/local.socket.d/10-x.conf", f"[Socket]\n# note{LINE_ENDS[end]}ListenStream=0.0.0.0:9001\n")
    code, findings = evaluate(image)
    statuses = listener_statuses(findings)
    assert statuses["tcp 0.0.0.0:9001"] == "fail"
    assert statuses["tcp 127.0.0.1:8081"] == "pass"
    assert code == 1
