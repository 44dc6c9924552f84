"""Hostile policy, drift round 16: a sysctl key the policy names but that is never compared.

``drift.sysctl`` with ``keys: [net.ipv4.ip_forwrd]`` (a typo of ip_forward) said not_applicable, "no
sysctl configuration file sets this key, so it cannot drift", on a running host whose /proc/sys has
no such key: the policy author read the key as checked.  The same held for a key lbaudit collects
but the running kernel lacks (its read failed with ENOENT), and for a correctly spelled key lbaudit
does not collect (net.ipv4.ip_forward): nothing about it was ever compared.  Now, on a running host,
each is not_reviewed with the reason (the running kernel has no such key; lbaudit does not collect
its running value), and ``validate`` warns at the param about a key lbaudit does not collect, so an
offline image, which has no running kernel, is warned about too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.collect.sysctl import read_runtime_sysctls
from auditor.domain.sysctl import collected_runtime_keys
from auditor.model.facts import Gap, SysctlFacts
from auditor.model.result import Status
from tests.cli import run_cli
from tests.factories import snapshot, sysctl_facts

TYPO = "net.ipv4.ip_forwrd"


def live_runtime(proc_sys: str = "/proc/sys") -> tuple[SysctlFacts, list[Gap]]:
    keys = collected_runtime_keys(snapshot().schema_version)
    runtime, gaps = read_runtime_sysctls(keys, proc_sys)
    return SysctlFacts(runtime=runtime, persistent={}), gaps


@pytest.mark.live
def test_a_misspelt_key_is_not_reviewed_on_a_running_host():
    """On main: not_applicable, 'no sysctl configuration file sets this key, so it cannot drift'."""
    assert not os.path.exists("/proc/sys/net/ipv4/ip_forwrd")
    facts, gaps = live_runtime()
    outcomes = drift_sysctl.run(snapshot(sysctl=facts, gaps=gaps), DriftSysctlParams(keys=[TYPO]))
    assert [(o.subject, o.status) for o in outcomes] == [(f"sysctl {TYPO}", Status.NOT_REVIEWED)]
    assert outcomes[0].reason.startswith(f"lbaudit does not collect the running value of {TYPO}")


@pytest.mark.live
def test_a_correct_key_lbaudit_does_not_collect_is_not_reviewed_either():
    assert os.path.exists("/proc/sys/net/ipv4/ip_forward")
    facts, gaps = live_runtime()
    outcomes = drift_sysctl.run(snapshot(sysctl=facts, gaps=gaps), DriftSysctlParams(keys=["net.ipv4.ip_forward"]))
    assert [o.status for o in outcomes] == [Status.NOT_REVIEWED]


@pytest.mark.live
def test_a_collected_key_the_running_kernel_lacks_is_not_reviewed(tmp_path: Path):
    """A kernel without tcp_fastopen (a /proc/sys tree copied from this host's, less that file)."""
    proc_sys = tmp_path / "sys"
    for key in collected_runtime_keys(snapshot().schema_version):
        path = proc_sys / key.replace(".", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if key != "net.ipv4.tcp_fastopen":
            path.write_bytes(Path("/proc/sys", key.replace(".", "/")).read_bytes())
    facts, gaps = live_runtime(str(proc_sys))
    outcomes = drift_sysctl.run(snapshot(sysctl=facts, gaps=gaps),
                                DriftSysctlParams(keys=["net.ipv4.tcp_fastopen"]))
    assert [o.status for o in outcomes] == [Status.NOT_REVIEWED]
    assert "the running kernel has no such key" in outcomes[0].reason


@pytest.mark.live
def test_a_collected_key_no_file_sets_is_still_not_applicable():
    facts, gaps = live_runtime()
    outcomes = drift_sysctl.run(snapshot(sysctl=facts, gaps=gaps), DriftSysctlParams(keys=["net.ipv4.tcp_fin_timeout"]))
    assert [(o.status, o.reason) for o in outcomes] == [
        (Status.NOT_APPLICABLE, "no sysctl configuration file sets this key, so it cannot drift")]


POLICY = """\
id: typo
version: "1"
owner: Sec
rules:
  - id: forwarding
    check: drift.sysctl
    params:
      keys: [{key}]
"""


@pytest.mark.parametrize("key", [TYPO, "net.ipv4.ip_forward"])
def test_validate_warns_about_a_key_never_compared(tmp_path: Path, key: str):
    """On main: validate exits 0 without a word."""
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(key=key))
    validated = run_cli("validate", policy)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert (f"{policy.name}:8:7: warning: rules[0].params.keys: lbaudit does not collect the running value of {key}, "
            "so it is never compared (not_reviewed on a running host, not_applicable in an image)") in (
        validated.stdout + validated.stderr)


def test_validate_says_nothing_of_collected_keys(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(key="net.ipv4.tcp_fin_timeout"))
    validated = run_cli("validate", policy)
    assert (validated.returncode, "warning" in validated.stdout + validated.stderr) == (0, False)


def test_a_key_an_older_snapshot_did_not_collect_says_so():
    """A 1.3 snapshot predates tcp_fastopen: on main not_applicable ("no file sets this key")."""
    runtime = {k: v for k, v in sysctl_facts().runtime.items() if k != "net.ipv4.tcp_fastopen"}
    old = snapshot(sysctl=SysctlFacts(runtime=runtime, persistent={})).model_copy(update={"schema_version": "1.3"})
    outcomes = drift_sysctl.run(old, DriftSysctlParams(keys=["net.ipv4.tcp_fastopen"]))
    assert [o.status for o in outcomes] == [Status.NOT_REVIEWED]
    assert outcomes[0].reason.startswith("this snapshot (format 1.3) holds no running value of net.ipv4.tcp_fastopen, "
                                         "which lbaudit collects since a later format")
