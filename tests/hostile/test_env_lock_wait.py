"""Hostile process environment: ``LBAUDIT_LOCK_WAIT`` that is not a number of seconds.

It is read only when another lbaudit process holds a directory this one writes in, so a typo went
unnoticed until then and did the wrong thing: ``abc`` silently waited the default 120 s, ``nan``
compared false with every bound and did not wait at all, ``inf`` or ``1e12`` waited forever.  Now it
is checked before any command runs: exit 2 naming the variable and what is expected, nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

USAGE = 2


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "-1", "1e12", "86401", "12s"])
def test_a_lock_wait_that_is_not_seconds_is_exit_2_before_any_work(tmp_path: Path, value: str):
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("env-lock-wait"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8080)]), tmp_path / "snap.json")
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "-q", env={"LBAUDIT_LOCK_WAIT": value, "LBAUDIT_CONFIG": ""})
    assert result.returncode == USAGE
    assert result.stderr == (f"lbaudit: LBAUDIT_LOCK_WAIT={value!r}: expected a number of seconds from 0 to 86400 "
                             "(how long to wait for another lbaudit process writing in the same directory)\n")
    assert not (tmp_path / "e.json").exists()


@pytest.mark.parametrize("value", ["", "0", "0.5", "86400"])
def test_a_lock_wait_in_range_or_empty_is_taken(tmp_path: Path, value: str):
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("env-lock-wait"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8080)]), tmp_path / "snap.json")
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "-q", env={"LBAUDIT_LOCK_WAIT": value, "LBAUDIT_CONFIG": ""})
    assert result.returncode == 1, result.stderr  # the wildcard listener fails: the run went through
    assert (tmp_path / "e.json").exists()
