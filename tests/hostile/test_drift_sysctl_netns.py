"""Hostile place: lbaudit running in a network namespace other than the initial one.

The kernel writes the ``sysctl.*`` parameters of its command line before init, in the initial
network namespace; systemd-sysctl (or ``sysctl --system``) writes the sysctl.d files in the
namespace of the init that runs it.  A namespace made later (``ip netns exec``, ``unshare --net``,
a container) starts from the kernel defaults for the net.* keys lbaudit reads (tcp_sk_init and
inet_init_net set them; none is copied from the initial namespace) and what its creator sets.
lbaudit compared such a namespace's running values with the host's boot configuration all the
same: tcp_tw_reuse 2 (the new namespace's default) "differed from 0 set at 60-boot.conf" and
tcp_fin_timeout 60 from the command line's 30 (false failures), while tcp_timestamps 1 passed on a
file that never reached the namespace.  Now, where neither reaches it, each net.* key is
not_applicable with the reason; where the namespace is its own init's (a container with its own
PID 1), the files count and the command line does not.  Real namespaces, the real /proc/sys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netns_env import require_namespaces

TW_REUSE = "net.ipv4.tcp_tw_reuse"
FIN_TIMEOUT = "net.ipv4.tcp_fin_timeout"
TIMESTAMPS = "net.ipv4.tcp_timestamps"

# Collects the sysctl section of a host whose files are the fixture root (argv[1]) and whose
# /proc is this kernel's, in whatever network namespace this process runs, and prints drift.sysctl.
JUDGE = r"""
import json, sys
from pathlib import Path
from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.collect import CollectContext
from auditor.collect.sysctl import collect_sysctl
from auditor.collect.targets import LocalHost
from tests.factories import snapshot
root = Path(sys.argv[1])
facts, gaps = collect_sysctl(CollectContext(target=LocalHost(root=root, program_path=(str(root / "none"),))))
snap = snapshot(sysctl=facts, gaps=gaps)
print(json.dumps({
    "persistent": {k: [s.value, s.origin] for k, s in facts.persistent.items()},
    "outcomes": {o.subject: [o.status.value, o.message] for o in drift_sysctl.run(snap, DriftSysctlParams())},
}))
"""


@pytest.fixture(autouse=True)
def _namespaces():
    require_namespaces()
    if tuple(int(part) for part in os.uname().release.split(".")[:2]) < (5, 8):
        pytest.skip("this kernel is older than 5.8: it applies no sysctl.* of its command line")


def host_files(tmp_path: Path) -> Path:
    """The boot configuration: the command line sets tcp_fin_timeout 30, the files tcp_tw_reuse 0
    and tcp_timestamps 1 (systemd-sysctl applies them)."""
    root = tmp_path / "host"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "cmdline").write_text(f"root=/dev/vda1 sysctl.{FIN_TIMEOUT}=30 quiet\n")
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    (root / "etc" / "sysctl.d" / "60-boot.conf").write_text(f"{TW_REUSE} = 0\n{TIMESTAMPS} = 1\n")
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
    return root


def judged(prefix: list[str], root: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([*prefix, sys.executable, "-c", JUDGE, str(root)], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_new_namespace_is_not_judged_against_the_hosts_boot_configuration(tmp_path):
    found = judged(["unshare", "--net", "--"], host_files(tmp_path))
    assert not any(key.startswith("net.") for key in found["persistent"])
    outcomes = found["outcomes"]
    for key in (TW_REUSE, FIN_TIMEOUT, TIMESTAMPS):
        status, message = outcomes[f"sysctl {key}"]
        assert status == "not_applicable"
        assert message.startswith("not applicable: lbaudit runs in a network namespace other than the initial one "
                                  "(/proc/sys/net/core/netdev_max_backlog, which only the initial namespace shows, "
                                  "is missing): the kernel command line's sysctls were written in the initial "
                                  "namespace, and the sysctl.d files by PID 1, in a namespace of its own")
    # nothing passes "none differs" on keys it never compared
    assert "sysctl running values" not in outcomes


def test_a_namespace_with_its_own_init_takes_the_files_but_not_the_command_line(tmp_path):
    found = judged(["unshare", "--net", "--pid", "--fork", "--mount-proc", "--"], host_files(tmp_path))
    assert found["persistent"][TW_REUSE][1].endswith("/etc/sysctl.d/60-boot.conf:1")
    assert FIN_TIMEOUT not in found["persistent"]
    outcomes = found["outcomes"]
    assert outcomes[f"sysctl {TW_REUSE}"][0] == "fail"  # its init writes 0 when it boots; 2 runs now
    assert outcomes[f"sysctl {TIMESTAMPS}"][0] == "pass"
    assert f"sysctl {FIN_TIMEOUT}" not in outcomes  # no boot write reaches it: the kernel default


@pytest.mark.live  # reads this host's running values to know what to expect
def test_the_initial_namespace_is_still_judged(tmp_path):
    if not os.path.exists("/proc/sys/net/core/netdev_max_backlog"):
        pytest.skip("the test runs outside the initial network namespace")
    outcomes = judged([], host_files(tmp_path))["outcomes"]
    running = {key: Path(f"/proc/sys/{key.replace('.', '/')}").read_text().strip() for key in (TW_REUSE, FIN_TIMEOUT)}
    assert outcomes[f"sysctl {TW_REUSE}"][0] == ("pass" if running[TW_REUSE] == "0" else "fail")
    assert outcomes[f"sysctl {FIN_TIMEOUT}"][0] == ("pass" if running[FIN_TIMEOUT] == "30" else "fail")


def test_a_new_namespace_starts_from_the_kernel_defaults_not_its_creators_values():
    """What the rule rests on: a namespace made from one whose values were changed has the kernel's
    defaults for the keys lbaudit reads, not the values of the namespace it was made from."""
    from auditor.collect.sysctl import SYSCTL_KEYS

    changed = {FIN_TIMEOUT: "33", TW_REUSE: "0", TIMESTAMPS: "0", "net.ipv6.bindv6only": "1",
               "net.ipv4.ip_local_port_range": "40000\t50000", "net.ipv4.ip_unprivileged_port_start": "900"}
    writes = "; ".join(f"printf '{value}' > /proc/sys/{key.replace('.', '/')}" for key, value in changed.items())
    reads = " ".join(f"/proc/sys/{key.replace('.', '/')}" for key in SYSCTL_KEYS)
    script = f"{writes}; cat {reads}; echo --; unshare --net cat {reads}"
    out = subprocess.run(["unshare", "--net", "sh", "-ec", script], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    creator, created = (dict(zip(SYSCTL_KEYS, part.strip("\n").split("\n"))) for part in out.split("--\n"))
    fresh = subprocess.run(["unshare", "--net", "cat", *reads.split()], capture_output=True, text=True, timeout=30,
                           check=True).stdout
    assert all(creator[key] == value for key, value in changed.items())
    assert created == dict(zip(SYSCTL_KEYS, fresh.strip("\n").split("\n")))
    assert all(created[key] != value for key, value in changed.items())
