"""A public key that any user may write, given as the trust anchor of a fleet run.

``fleet evaluate --snapshot-pubkey`` (and ``evaluate --snapshot-pubkey``, ``verify --pubkey``)
refused a private key others could read, but took a public key any local user could write (mode
0666: a key copied by hand under umask 0, a shared directory): whoever replaced it with their own
key had every snapshot they signed verified, and each host's evidence recorded it as verified.
So was one in a directory any user may write without the sticky bit (where anyone may rename their
own file over it).  Such a key is refused (exit 2) before any host is judged, nothing written;
keygen's own ``.pub`` (0644, or 0664 under a umask of 0), and one in /tmp (sticky), is still taken.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from auditor.attest.signing import generate_keypair, sign_written
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    private, public = generate_keypair(tmp_path / "keys")
    path = tmp_path / "fetch" / "web01" / "lbaudit.snapshot.json"
    path.parent.mkdir(parents=True)
    raw = snapshot_bytes(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web01",
                                  collected_at=datetime.now(timezone.utc)))
    path.write_bytes(raw)
    sign_written(path, raw, private, snapshot=True)
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    return public, policy


def _fleet(tmp_path: Path, public: Path, policy: Path):
    return run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", policy, "--out-dir",
                   tmp_path / "out", "--snapshot-pubkey", public, "--jobs", "1", "-q", timeout=120)


@pytest.mark.parametrize("mode", [0o666, 0o646, 0o777])
def test_a_public_key_any_user_may_write_is_refused_before_any_host(tmp_path: Path, mode: int):
    public, policy = _setup(tmp_path)
    public.chmod(mode)
    result = _fleet(tmp_path, public, policy)
    assert result.returncode == 2, result.stdout + result.stderr
    # one rule for the configuration file and a public key (sign20: a shared group may not write
    # either), so one hint: go-w, as for the configuration file
    assert result.stderr == (f"lbaudit: {public}: not trusted as a public key that verifies signatures: it is writable "
                             f"by every user (mode {mode:04o}); expected writable by its owner alone "
                             f"(chmod go-w {public})\n")
    assert not (tmp_path / "out").exists()
    verify = run_cli("verify", tmp_path / "fetch" / "web01" / "lbaudit.snapshot.json", "--pubkey", public)
    assert verify.returncode == 2 and f"it is writable by every user (mode {mode:04o})" in verify.stderr


@pytest.mark.parametrize("mode", [0o644, 0o664, 0o444])
def test_control_case_a_public_key_only_its_owner_and_group_may_write_is_taken(tmp_path: Path, mode: int):
    public, policy = _setup(tmp_path)
    public.chmod(mode)
    result = _fleet(tmp_path, public, policy)
    assert result.returncode == 0, result.stdout + result.stderr
    [row] = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]
    assert (row["host"], row["verdict"]) == ("web01", "compliant")


def test_a_public_key_in_a_directory_any_user_may_write_is_refused(tmp_path: Path):
    public, policy = _setup(tmp_path)
    public.parent.chmod(0o777)
    result = _fleet(tmp_path, public, policy)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == (f"lbaudit: {public}: not trusted as a public key that verifies signatures: its directory "
                             f"{public.parent} is writable by every user (mode 0777) without the sticky bit, so anyone "
                             "may replace the file; expected a directory only its owner may write "
                             f"(chmod o-w {public.parent}, or the sticky bit)\n")
    assert not (tmp_path / "out").exists()


def test_control_case_a_public_key_in_a_sticky_directory_any_user_may_write_is_taken(tmp_path: Path):
    public, policy = _setup(tmp_path)
    public.parent.chmod(0o1777)
    result = _fleet(tmp_path, public, policy)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_public_key_below_a_directory_any_user_may_write_is_refused(tmp_path: Path):
    """Only the key's own directory was looked at: one above it that any user may write lets them
    rename the key's directory away and put their own, with their key, in its place.  The public key
    and the configuration file are now judged by one rule (auditor.safeio.replaceable_by_others)."""
    public, policy = _setup(tmp_path)
    above = public.parent.parent
    above.chmod(0o777)
    try:
        result = _fleet(tmp_path, public, policy)
    finally:
        above.chmod(0o755)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == (f"lbaudit: {public}: not trusted as a public key that verifies signatures: its directory "
                             f"{above} is writable by every user (mode 0777) without the sticky bit, so anyone may "
                             f"replace the file; expected a directory only its owner may write (chmod o-w {above}, "
                             "or the sticky bit)\n")
