"""A target's snapshot could take the controller's memory through a section no limit covered: a
50 MB snapshot of 180,000 audit rules (within the 64 MiB a snapshot may be, and within
--max-listeners and --max-namespaces) peaked at 926 MB in the one fleet worker judging it, with a
worker per CPU.  Every kind of record a snapshot holds without bound now has its limit in one table
(auditor.storage.snapshot.SECTION_LIMITS): audit rules (--max-audit-rules, default 20,000, loaded
and persistent together), interfaces (--max-interfaces, 20,000) and sysctl settings
(--max-sysctl-settings, 100,000) and gaps (--max-gaps, 50,000: 300,000 gaps peaked at 367 MB and
wrote 67 MB of evidence) and the processes holding the listening sockets (--max-listener-processes,
50,000: 300,000 on one listener peaked at 607 MB and wrote 157 MB of evidence) beside listeners
and namespaces.  They are counted in the parsed
document before its models are built (the 180,000 rules are refused at about a third of the
memory); a host with more fails alone, exit 2, unjudged, with the reason.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from auditor.domain.audit_rules import parse_rules_text
from auditor.model.facts import AuditFacts
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import REPO, run_cli
from tests.factories import BOOT_BACKLOG_RULES, SOCKET_AUDIT_RULES, listener, running_auditd, snapshot

POLICY = REPO / "policies" / "corp.yaml"


def _document(name: str, number: int) -> dict:
    rules = parse_rules_text(BOOT_BACKLOG_RULES + SOCKET_AUDIT_RULES, "/etc/audit/audit.rules", "x86_64").rules
    audit = AuditFacts(enabled=1, loaded_rules=rules, persistent_rules=rules, runtime_source="auditctl",
                       config_dir_exists=True, machine="x86_64", **running_auditd())
    return json.loads(snapshot_bytes(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=name,
                                              machine_id=f"{number:032x}",
                                              collected_at=datetime.now(timezone.utc), audit=audit)))


def _write(fetch: Path, name: str, document: dict) -> Path:
    (fetch / name).mkdir(parents=True)
    path = fetch / name / "lbaudit.snapshot.json"
    path.write_text(json.dumps(document))
    return path


def _watches(count: int) -> list[dict]:
    """``count`` watch rules as auditctl -l prints them (each its own path)."""
    return [{"kind": "watch", "text": f"-w /srv/w{i} -p r", "origin": f"auditctl -l:{i + 1}", "watch": f"/srv/w{i}",
             "permissions": "r", "action": None, "arch": None, "arch_machine": None, "fields": [], "keys": [],
             "rule_list": None, "syscall_numbers": None, "syscall_table": None, "syscalls": []} for i in range(count)]


def _with_rules(document: dict, loaded: int) -> dict:
    audit = document["facts"]["audit"]
    audit["loaded_rules"] = audit["loaded_rules"] + _watches(loaded - len(audit["loaded_rules"]))
    return document


def _with_interfaces(document: dict, count: int) -> dict:
    document["facts"]["netns"]["namespaces"] = [{"inode": 4026531840, "device": 4, "current": True, "interfaces": [
        {"name": f"veth{i}", "index": i + 1, "kind": "veth", "up": True} for i in range(count)]}]
    return document


def _with_sysctls(document: dict, configured: int) -> dict:
    document["facts"]["sysctl"]["persistent"] = {
        f"net.ipv4.conf.v{i}.rp_filter": {"value": "1", "origin": f"/etc/sysctl.d/90-v.conf:{i + 1}"}
        for i in range(configured)}
    return document


def _with_gaps(document: dict, count: int) -> dict:
    document["gaps"] = [{"section": "sysctl", "field": f"runtime/net.ipv4.v{i}", "reason": "could not be read",
                         "kind": "unreadable"} for i in range(count)]
    return document


def _with_listener_processes(document: dict, count: int) -> dict:
    document["facts"]["sockets"]["listeners"][0]["processes"] = [
        {"pid": 1000 + i, "name": "sshd", "exe": "/usr/sbin/sshd"} for i in range(count)]
    return document


def _fleet(fetch: Path, out: Path, *extra: object):
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "-q", "--jobs", "1",
                   *extra, timeout=300)


def _rows(out: Path) -> dict[str, dict]:
    return {row["host"]: row for row in json.loads((out / "fleet-summary.json").read_text())["hosts"]}


def _refusal(path: Path, what: str, count: int, option: str, maximum: int, one: str) -> str:
    return (f"{path}: records {count:,} {what}, more than {option} {maximum:,}: not judged (a fleet worker's memory "
            f"grows with each {one} it judges; judge this host alone with lbaudit evaluate --snapshot, or give a "
            f"higher {option})")


def test_a_snapshot_of_more_audit_rules_than_the_default_limit_fails_its_host_alone(tmp_path: Path):
    fetch = tmp_path / "fetch"
    document = _document("ruled", 1)
    persistent = len(document["facts"]["audit"]["persistent_rules"])
    crowded = _write(fetch, "ruled", _with_rules(document, 20_001 - persistent))
    _write(fetch, "small", _document("small", 2))
    result = _fleet(fetch, tmp_path / "out")
    assert result.returncode == 2, result.stdout + result.stderr
    rows = _rows(tmp_path / "out")
    assert (rows["ruled"]["verdict"], rows["ruled"]["exit_code"], rows["ruled"]["evidence"]) == (None, 2, None)
    assert rows["ruled"]["error"] == _refusal(crowded, "audit rules (loaded and persistent)", 20_001,
                                              "--max-audit-rules", 20_000, "audit rule")
    assert not (tmp_path / "out" / "ruled.evidence.json").exists()
    assert rows["small"]["verdict"] is not None and rows["small"]["error"] is None


@pytest.mark.parametrize(("build", "option", "what", "one"), [
    (_with_interfaces, "--max-interfaces", "network interfaces (in all its namespaces)", "interface"),
    (_with_sysctls, "--max-sysctl-settings", "sysctl settings (running, configured and its namespaces')",
     "sysctl setting"),
    (_with_gaps, "--max-gaps", "gaps (what its collector could not read)", "gap"),
    (_with_listener_processes, "--max-listener-processes", "processes holding its listening sockets", "process"),
])
def test_interfaces_sysctl_settings_gaps_and_listener_processes_are_limited_and_the_option_sets_the_limit(tmp_path: Path, build, option, what,
                                                                                  one):
    fetch = tmp_path / "fetch"
    document = build(_document("crowded", 1), 50)
    counted = {"--max-interfaces": 50, "--max-gaps": 50, "--max-listener-processes": 50,
               "--max-sysctl-settings": 50 + len(document["facts"]["sysctl"]["runtime"])}[option]
    crowded = _write(fetch, "crowded", document)
    result = _fleet(fetch, tmp_path / "out", option, counted - 1)
    assert result.returncode == 2, result.stdout + result.stderr
    assert _rows(tmp_path / "out")["crowded"]["error"] == _refusal(crowded, what, counted, option, counted - 1, one)
    judged = _fleet(fetch, tmp_path / "out2", option, counted)
    assert judged.returncode in (0, 1, 3), judged.stdout + judged.stderr
    assert _rows(tmp_path / "out2")["crowded"]["error"] is None


def test_max_audit_rules_sets_the_limit(tmp_path: Path):
    fetch = tmp_path / "fetch"
    document = _document("ruled", 1)
    counted = len(document["facts"]["audit"]["loaded_rules"]) + len(document["facts"]["audit"]["persistent_rules"])
    ruled = _write(fetch, "ruled", document)
    assert _fleet(fetch, tmp_path / "out", "--max-audit-rules", counted - 1).returncode == 2
    assert _rows(tmp_path / "out")["ruled"]["error"] == _refusal(ruled, "audit rules (loaded and persistent)", counted,
                                                                 "--max-audit-rules", counted - 1, "audit rule")
    judged = _fleet(fetch, tmp_path / "out2", "--max-audit-rules", counted)
    assert judged.returncode in (0, 1, 3), judged.stdout + judged.stderr
    assert _rows(tmp_path / "out2")["ruled"]["error"] is None
