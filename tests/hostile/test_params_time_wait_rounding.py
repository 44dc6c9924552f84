"""``net.time_wait`` messages that contradicted their own verdict at a threshold the policy gave.

The share was shown to 0.1% and the maximum to 1%, the headroom utilization to 1%: a share of 80.01%
against ``max_time_wait_share: 0.8`` failed reading "80.0% ..., above 80%", and 80.49% against
``0.8049`` passed reading "80.5% ..., at most 80%" (a reader takes the policy as 80% and the host as
over it).  The maximum is now shown as the policy wrote it, and the value with as many places as it
takes to compare the way the verdict did; ``observed`` is no longer rounded to 4 places either (it
read 0.8 = share_at_most on a failure).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.snapshot import snapshot_bytes
from tests.cli import evaluate_snapshot
from tests.factories import snapshot, sysctl_facts

SHARE = "TIME_WAIT share of the ephemeral pool"
HEADROOM = "ephemeral pool headroom at the declared peak connection rate"


def _finding(tmp_path: Path, time_wait: int, params: str, subject: str, **sysctls: str) -> dict:
    host = tmp_path / "host.snapshot.json"
    pool = sysctl_facts(net__ipv4__ip_local_port_range="10001 20000", **sysctls)  # 10,000 ports
    host.write_bytes(snapshot_bytes(snapshot(listeners=[], time_wait=time_wait, sysctl=pool)))
    run, evidence = evaluate_snapshot(
        tmp_path, f'id: tw\nversion: "1"\nowner: T\nrules:\n  - id: r\n    check: net.time_wait\n    params:\n{params}', host)
    assert run.returncode in (0, 1), run.stdout + run.stderr
    (finding,) = [f for f in json.loads(evidence.read_bytes())["result"]["findings"] if f["subject"] == subject]
    return finding


@pytest.mark.parametrize(("time_wait", "maximum", "status", "text"), [
    (8001, "0.8", "fail", "8,001 sockets in TIME_WAIT = 80.01% of the 10,000-port ephemeral pool, above 80%"),
    (8049, "0.8049", "pass", "8,049 sockets in TIME_WAIT = 80.49% of the 10,000-port ephemeral pool, at most 80.49%"),
    (8050, "0.8049", "fail", "8,050 sockets in TIME_WAIT = 80.5% of the 10,000-port ephemeral pool, above 80.49%"),
    (8000, "0.8", "pass", "8,000 sockets in TIME_WAIT = 80.0% of the 10,000-port ephemeral pool, at most 80%"),
    (1, "0.00005", "fail", "1 sockets in TIME_WAIT = 0.01% of the 10,000-port ephemeral pool, above 0.005%"),
])
def test_the_share_message_compares_as_the_verdict(tmp_path, time_wait, maximum, status, text):
    finding = _finding(tmp_path, time_wait, f"      max_time_wait_share: {maximum}\n", SHARE)
    assert finding["status"] == status
    assert finding["message"] == text
    assert finding["observed"]["share"] == time_wait / 10000


@pytest.mark.parametrize(("rate", "status", "shown"), [
    ("122.866", "fail", "= 80.01% of the 10,000-port pool (which sustains at most 153/s), above 80%"),
    ("122.82", "pass", "= 79.98% of the 10,000-port pool (which sustains at most 153/s), at most 80%"),
])
def test_the_headroom_message_compares_as_the_verdict(tmp_path, rate, status, shown):
    """122.866/s x 65.12 s = 8,001 ports: 80.01%, read "80% ..., above 80%" on main (with 60 s then:
    133.35/s)."""
    finding = _finding(tmp_path, 0, f"      peak_new_connections_per_second: {rate}\n      max_pool_utilization: 0.8\n",
                       HEADROOM)
    assert finding["status"] == status
    assert shown in finding["message"]


def _refusal(tmp_path: Path, params: str) -> str:
    host = tmp_path / "host.snapshot.json"
    host.write_bytes(snapshot_bytes(snapshot(listeners=[],
                                             sysctl=sysctl_facts(net__ipv4__tcp_fin_timeout="2147483"))))
    run, evidence = evaluate_snapshot(
        tmp_path, f'id: tw\nversion: "1"\nowner: T\nrules:\n  - id: r\n    check: net.time_wait\n    params:\n{params}', host)
    assert run.returncode == 2, run.stdout + run.stderr
    assert not evidence.exists()
    return run.stderr


@pytest.mark.parametrize(("written", "shown"), [("2147483", "2,147,483"), ("2147483647", "2,147,483,647")])
def test_a_fin_timeout_maximum_no_judged_value_can_exceed_is_refused(tmp_path, written, shown):
    """On main: exit 0.  Every value judged is at most INT_MAX // 1000 s (above that it is not_reviewed)."""
    stderr = _refusal(tmp_path, f"      max_fin_timeout: {written}\n")
    assert (f"policy.yaml:8:7: rules[0].params.max_fin_timeout: {shown} s is at or above the 2,147,483 s that is the "
            "most tcp_fin_timeout holds on every kernel (seconds x HZ must fit a C int), so it can never fail") in stderr


def test_control_case_one_second_less_fails_the_largest_value_judged(tmp_path):
    finding = _finding(tmp_path, 0, "      max_fin_timeout: 2147482\n", "sysctl net.ipv4.tcp_fin_timeout",
                       net__ipv4__tcp_fin_timeout="2147483")
    assert finding["status"] == "fail"


@pytest.mark.parametrize(("written", "message"), [
    ("80", "rules[0].params.max_time_wait_share: must be at most 1.0; found 80"),  # a percent, not a share
    ('"80%"', "rules[0].params.max_time_wait_share: expected a number; found '80%'"),
    ("0", "rules[0].params.max_time_wait_share: must be greater than 0.0; found 0"),
])
def test_a_share_written_as_a_percent_or_zero_is_refused(tmp_path, written, message):
    """Regression: each is exit 2 at the value's key (already so on main; kept)."""
    assert f"policy.yaml:8:7: {message}" in _refusal(tmp_path, f"      max_time_wait_share: {written}\n")
