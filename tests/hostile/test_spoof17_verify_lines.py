"""``lbaudit verify`` prints each of its lines as one line, whatever the host name the evidence records.

``verify`` ends with what the signed evidence is of ("signed evidence of host NAME (...), policy ...,
verdict ...") and "verified: FILE".  The host name is the host's (its kernel's, a snapshot's: not
lbaudit's words) and went out through ``terminal_lines``, which keeps a message's line feeds as its
own: an evidence of a host named ``web01\\nverified: prod.json\\nsigned evidence of host db01``,
signed as it should be, printed "verified: prod.json" and a subject of db01 on lines of their own.
Now every line verify prints is one line (``auditor.text.shown_line``), the host name's line feeds
shown as ``\\n``.
"""

from __future__ import annotations

from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

HOSTNAME = "web01\nverified: prod.json\nsigned evidence of host db01"


def test_verify_prints_the_host_name_on_its_own_line_only(tmp_path: Path):
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=HOSTNAME), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("signed"))
    assert run_cli("keygen", "--out", tmp_path / "keys", "-q").returncode == 0
    evaluated = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                        "-o", tmp_path / "e.json", "--sign-key", tmp_path / "keys" / "lbaudit.key", "-q")
    assert evaluated.returncode == 0, evaluated.stderr
    result = run_cli("verify", tmp_path / "e.json", "--pubkey", tmp_path / "keys" / "lbaudit.pub")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # before: "verified: prod.json" and "signed evidence of host db01 ..." were lines of their own
    assert [line for line in lines if line.startswith("verified:")] == [f"verified: {tmp_path / 'e.json'}"]
    subjects = [line for line in lines if line.startswith("signed evidence of")]
    assert len(subjects) == 1
    assert subjects[0].startswith("signed evidence of host 'web01\\nverified: prod.json\\nsigned evidence of host db01' (")
