"""``drift.sysctl``'s ``keys`` refuse a name with ``.`` or ``..`` components in its /proc/sys path form.
``net/../../../etc/passwd`` and ``net/ipv4/../ipv4/tcp_fin_timeout`` loaded as keys to compare (the
README says keys must be sysctl names under a /proc/sys directory); the second was not compared with
tcp_fin_timeout but judged as a key no configuration file sets (not_applicable), so the drift the
policy asked about was never looked at."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

POLICY = 'id: p\nversion: "1"\nowner: T\nrules:\n  - id: d\n    check: drift.sysctl\n    params: {{keys: ["{key}"]}}\n'


@pytest.mark.parametrize("key", ["net/../../../etc/passwd", "net/ipv4/../ipv4/tcp_fin_timeout", "net/ipv4/./tcp_fin_timeout"])
def test_a_key_with_dot_components_is_exit_2_at_its_line(tmp_path: Path, key: str):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(key=key), encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", policy)
    assert checked.returncode == 2, checked.stdout
    assert (f"{policy}:7:14: rules[0].params.keys: {key!r} is not a sysctl name: '.' and '..' are no components "
            "of one") in checked.stderr


@pytest.mark.parametrize("key", ["net/ipv4/conf/eth0.200/rp_filter", "net.ipv4.conf.eth0/200.rp_filter",
                                 "net.ipv4.tcp_fin_timeout"])
def test_control_case_a_dot_inside_a_component_is_a_name(tmp_path: Path, key: str):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(key=key), encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", policy)
    assert checked.returncode == 0, checked.stderr
