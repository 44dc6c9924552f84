"""A host name cannot make its SARIF log another host's analysis.

``automationDetails.id`` is ``lbaudit/<policy>/<host name>/machine-<tag>/`` (``lbaudit/<policy>/<host
name>/`` without a machine id), and code scanning keys an analysis by it: an upload replaces the
alerts of the last upload of that category, so host B's log closes host A's open alerts.  The host
name is the host's own text (root sets any bytes with sethostname(2); a snapshot file says what it
likes) and was written as it was, "/" and all: a host without a machine id named
``web01.example.test/machine-<A's tag>`` (A's tag is in A's published log) wrote exactly A's category,
and its compliant run closed A's alerts.  Now the host name is one segment of the category (its "/"
and "%" percent-encoded), so no name reaches into the part that tells machines apart; a plain name
is written as before.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT, COMPLIANT = 1, 0
HOSTNAME = "web01.example.test"
MACHINE_A = "0123456789abcdef0123456789abcdef"


def _category(tmp_path: Path, name: str, hostname: str, machine_id: str | None, bind: str) -> str:
    policy = tmp_path / "policy.yaml"
    policy.write_text(loopback_only_policy("corp"))
    work = tmp_path / name
    work.mkdir()
    write_snapshot(snapshot(listeners=[listener(bind, 22)], hostname=hostname, machine_id=machine_id),
                   work / "snapshot.json")
    result = run_cli("evaluate", "--policy", policy, "--snapshot", work / "snapshot.json", "-o", work / "e.json",
                     "--format", "sarif", "--quiet", env={"LBAUDIT_CONFIG": ""})
    assert result.returncode == (NON_COMPLIANT if bind == "0.0.0.0" else COMPLIANT), result.stderr
    log = json.loads((work / "corp.sarif").read_bytes())
    return log["runs"][0]["automationDetails"]["id"]


def test_a_host_name_cannot_spell_another_machines_category(tmp_path):
    victim = _category(tmp_path, "a", HOSTNAME, MACHINE_A, "0.0.0.0")
    assert victim.startswith(f"lbaudit/corp/{HOSTNAME}/machine-")
    forged_name = victim.removeprefix("lbaudit/corp/").removesuffix("/")  # "web01.example.test/machine-<tag>"
    forger = _category(tmp_path, "b", forged_name, None, "127.0.0.1")
    # before: the forger's compliant log was A's analysis, and closed A's open alert
    assert forger != victim
    assert forger.count("/") == victim.count("/") - 1  # lbaudit/corp/<one segment>/


def test_a_host_name_with_a_slash_is_one_segment_and_a_plain_name_is_unchanged(tmp_path):
    assert _category(tmp_path, "plain", HOSTNAME, None, "0.0.0.0") == f"lbaudit/corp/{HOSTNAME}/"
    # "%" is encoded too, so that no name spells another's encoding ("a%2Fb" is not "a/b")
    slashed = _category(tmp_path, "slash", "a/b", None, "0.0.0.0")
    percent = _category(tmp_path, "percent", "a%2Fb", None, "0.0.0.0")
    assert slashed == "lbaudit/corp/a%2Fb/" and percent == "lbaudit/corp/a%252Fb/"
