"""``lbaudit history diff`` names the store's hosts one line each when it cannot choose between them.

With no ``--host`` and runs of several hosts in the store, ``history diff`` refuses (exit 2) and names
each host and policy.  The host name is the host's (its kernel's, a snapshot's) and went into the
message as it was; the message is printed through ``terminal_lines``, which keeps a message's own line
feeds, so a host named ``web01\\nlbaudit: everything is fine`` printed that line of its own on
standard error.  Now each host name in the message is one line (``auditor.text.one_line``: ``\\n``).
"""

from __future__ import annotations

from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

FORGED = "lbaudit: everything is fine"


def test_the_hosts_named_by_the_refusal_are_one_line_each(tmp_path: Path):
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("lo"))
    store = tmp_path / "history.db"
    for name, hostname, machine in (("a", f"web01\n{FORGED}", "1" * 32), ("b", "db\n02", "2" * 32)):
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=hostname, machine_id=machine),
                       tmp_path / f"{name}.json")
        recorded = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / f"{name}.json",
                           "--record", "--store", store, "-q", "-o", tmp_path / f"{name}.evidence.json")
        assert recorded.returncode == 0, recorded.stderr
    result = run_cli("history", "diff", "--store", store)
    assert (result.returncode, result.stdout) == (2, "")
    # before: the message broke at each host name's line feed, "lbaudit: everything is fine" a line of its own
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "runs of several hosts or policies match (db\\n02/lo (--host machine-id:" in result.stderr
    assert f"web01\\n{FORGED}/lo (--host machine-id:{'1' * 32})" in result.stderr
