"""Hostile offline images, false passes: OpenRC's sysctl service over busybox's sysctl (Alpine).

Without systemd-sysctl lbaudit read an image's sysctl.d as procps' ``sysctl --system`` applies it.
OpenRC's /etc/init.d/sysctl does that only where ``sysctl -V`` succeeds (procps-ng); with busybox's
sysctl (Alpine's /sbin/sysctl -> /bin/busybox) it runs its BSD_sysctl instead: nothing at all
unless /etc/sysctl.conf exists, then /etc/sysctl.conf and /etc/sysctl.d/*.conf only (no /usr/lib
or /run), each line through ``sed 's/ = /=/' | while read var comments`` and ``sysctl -w "$var"``,
so a value is written only up to its first white space: ``ip_local_port_range = 1024 65535`` sets
the low end alone and the booted range is 1024-60999 (59,976 ports), checked below by running that
loop with busybox's sysctl in a new namespace.  lbaudit judged 1024-65535 (64,512 ports) and passed
``min_pool_size: 60000`` and the headroom of 780 new connections a second (50,794 ports held for
65.12 s: 79% of 64,512, 85% of the booted 59,976).  Such an image's boot values are now unknown (the sysctl section's
configured values are a gap naming the service and the sysctl it runs), and the findings
not_reviewed; with procps' sysctl installed instead the image is judged as before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.netns_env import require_namespaces

POOL = "ephemeral port pool"
HEADROOM = "ephemeral pool headroom at the declared peak connection rate"
PORTS = "net.ipv4.ip_local_port_range = 1024 65535\n"

# The Linux part of OpenRC's init.d/sysctl.in (openrc 0.4x), as Alpine installs it.
OPENRC_SYSCTL = """#!/sbin/openrc-run
BSD_sysctl()
{
\t[ -e /etc/sysctl.conf ] || return 0
\tlocal retval=0 var= comments= conf=
\tfor conf in /etc/sysctl.conf /etc/sysctl.d/*.conf; do
\t\tif [ -r "$conf" ]; then
\t\t\tsed 's/ = /=/' "$conf" | while read var comments; do
\t\t\t\tcase "$var" in
\t\t\t\t""|"#"*) continue;;
\t\t\t\tesac
\t\t\t\tsysctl -w "$var" >/dev/null || retval=1
\t\t\tdone
\t\tfi
\tdone
\treturn $retval
}

Linux_sysctl()
{
\tsysctl --system
}

start()
{
\tif sysctl -V > /dev/null 2>&1; then # procps-ng
\t\tLinux_sysctl
\telse # busybox
\t\tBSD_sysctl
\tfi
}
"""


def alpine(tmp_path: Path, sysctl_program: str = "busybox") -> Path:
    """An Alpine-like image: OpenRC's sysctl service, /etc/sysctl.conf, a sysctl.d file setting the
    range, busybox's init, and /sbin/sysctl a link to busybox (or procps' own program)."""
    root = tmp_path / "image"
    for directory in ("etc/init.d", "etc/sysctl.d", "bin", "sbin"):
        (root / directory).mkdir(parents=True)
    (root / "etc/init.d/sysctl").write_text(OPENRC_SYSCTL)
    (root / "etc/sysctl.conf").write_text("# content of this file will override /etc/sysctl.d/*\n")
    (root / "etc/sysctl.d/50-ports.conf").write_text(PORTS)
    (root / "bin/busybox").write_bytes(b"\x7fELF")
    (root / "sbin/init").symlink_to("/bin/busybox")  # busybox's init, whose inittab runs OpenRC
    if sysctl_program == "busybox":
        (root / "sbin/sysctl").symlink_to("/bin/busybox")
    else:
        (root / "sbin/sysctl").write_bytes(b"\x7fELF")
    return root


def judged(root: Path) -> dict[str, tuple[Status, str]]:
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    outcomes = net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=60000, min_low=1024,
                                                                       forbid_listeners_in_range=False))
    outcomes += net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=780))
    return {o.subject: (o.status, o.message) for o in outcomes if o.subject in (POOL, HEADROOM)}


@pytest.mark.live
def test_openrc_with_busybox_sysctl_boots_the_low_end_alone(tmp_path):
    require_namespaces()
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox is not installed")
    (tmp_path / "bin").mkdir()
    os.symlink(busybox, tmp_path / "bin" / "sysctl")
    conf = tmp_path / "50-ports.conf"
    conf.write_text(PORTS)
    body = OPENRC_SYSCTL.split("BSD_sysctl()\n{\n", 1)[1].split("\treturn $retval\n}", 1)[0]
    body = body.replace("[ -e /etc/sysctl.conf ] || return 0", "").replace("local ", "").replace(
        "/etc/sysctl.conf /etc/sysctl.d/*.conf", str(conf))
    script = f"sysctl -V >/dev/null 2>&1 && exit 9\n{body}\ncat /proc/sys/net/ipv4/ip_local_port_range\n"
    done = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"})
    assert (done.returncode, done.stdout.split()) == (0, ["1024", "60999"]), done.stderr


def test_an_image_whose_boot_runs_busybox_sysctl_is_not_judged_as_procps_reads_it(tmp_path):
    found = judged(alpine(tmp_path))
    assert found[POOL][0] == Status.NOT_REVIEWED  # was pass: 64,512 ports
    assert found[HEADROOM][0] == Status.NOT_REVIEWED  # was pass: 79%
    assert ("OpenRC's sysctl service (/etc/init.d/sysctl) applies the boot's sysctl configuration, and the sysctl "
            "it runs is busybox's (/sbin/sysctl -> /bin/busybox)") in found[POOL][1]
    assert "writes each value only up to its first white space" in found[POOL][1]


def test_with_procps_sysctl_the_image_is_judged_as_sysctl_system_applies_it(tmp_path):
    found = judged(alpine(tmp_path, sysctl_program="procps"))
    assert found[POOL][0] == Status.PASS
    assert found[HEADROOM][0] == Status.PASS
