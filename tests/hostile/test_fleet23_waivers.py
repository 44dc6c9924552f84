"""``lbaudit fleet evaluate --waivers``: the separate waivers file ``evaluate`` applies, applied to a fleet.

The defect: ``fleet evaluate`` had no ``--waivers``, so a waivers file configured for lbaudit
(``waivers`` in the configuration file, ``LBAUDIT_WAIVERS``), which ``evaluate`` applies to every
run, was silently not applied to a fleet: the same host judged by ``evaluate`` was compliant (its
approved deviation waived) and by ``fleet evaluate`` non-compliant, and a waivers file that could
not be applied (a waiver of no rule) was never refused.  Now ``fleet evaluate`` takes ``--waivers``
with ``evaluate``'s configured default, validation and expiry, and each host's evidence records the
file (path and digest) as ``evaluate``'s does.

Real snapshots in Ansible's fetch layout, judged by the built-in ``net.bind_addresses``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, snapshot

POLICY = """\
id: fleet23-waivers
version: "1"
owner: Tests <tests@example.test>
rules:
  - id: loopback-only
    check: net.bind_addresses
    params:
      allow: [loopback]
"""

WAIVER = """\
waivers:
  - rule: {rule}
    subject: "tcp 0.0.0.0:8080 *"
    reason: CHG-1 the legacy billing API
    approver: Dana Whitfield (CISO)
    expires: {expires}
"""


def _fleet(tmp_path: Path) -> Path:
    now = datetime.now(timezone.utc)
    for name, listeners in (("clean", [listener("127.0.0.1", 9000)]), ("legacy", [listener("0.0.0.0", 8080)])):
        (tmp_path / "fetch" / name).mkdir(parents=True)
        write_snapshot(snapshot(listeners=listeners, hostname=name, collected_at=now),
                       tmp_path / "fetch" / name / "lbaudit.snapshot.json")
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    return tmp_path / "fetch"


def _waivers(tmp_path: Path, rule: str = "loopback-only", expires: str = "2999-12-31") -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVER.format(rule=rule, expires=expires), encoding="utf-8")
    return path


def _verdicts(out: Path) -> dict[str, str]:
    summary = json.loads((out / "fleet-summary.json").read_text(encoding="utf-8"))
    return {h["host"]: h["verdict"] for h in summary["hosts"]}


def test_waivers_file_given_applies_to_every_host_and_is_recorded(tmp_path: Path):
    fetch = _fleet(tmp_path)
    waivers = _waivers(tmp_path)
    out = tmp_path / "out"
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "p.yaml", "--out-dir", out,
                  "--waivers", waivers)
    assert run.returncode == 0, run.stdout + run.stderr
    assert _verdicts(out) == {"clean": "compliant", "legacy": "compliant"}
    evidence = json.loads((out / "legacy.evidence.json").read_text(encoding="utf-8"))
    assert evidence["waiver_file"]["sha256"]
    assert evidence["waiver_file"]["waivers"][0]["reason"] == "CHG-1 the legacy billing API"
    assert [f["status"] for f in evidence["result"]["findings"] if f["rule_id"] == "loopback-only"] == ["waived"]


def test_waivers_file_from_the_environment_applies_as_in_evaluate(tmp_path: Path):
    fetch = _fleet(tmp_path)
    waivers = _waivers(tmp_path)
    out = tmp_path / "out"
    # before: no such option, so LBAUDIT_WAIVERS was not applied and 'legacy' was non_compliant (exit 1)
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "p.yaml", "--out-dir", out,
                  env={"LBAUDIT_WAIVERS": str(waivers), "LBAUDIT_CONFIG": ""})
    assert run.returncode == 0, run.stdout + run.stderr
    assert _verdicts(out) == {"clean": "compliant", "legacy": "compliant"}
    single = run_cli("evaluate", "--snapshot", fetch / "legacy" / "lbaudit.snapshot.json", "--policy",
                     tmp_path / "p.yaml", "-o", tmp_path / "single.json",
                     env={"LBAUDIT_WAIVERS": str(waivers), "LBAUDIT_CONFIG": ""})
    assert single.returncode == 0, single.stderr


def test_waivers_file_from_the_configuration_file_applies(tmp_path: Path):
    fetch = _fleet(tmp_path)
    _waivers(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text("waivers: waivers.yaml\n", encoding="utf-8")  # relative to the file's directory
    config.chmod(0o600)
    out = tmp_path / "out"
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "p.yaml", "--out-dir", out,
                  env={"LBAUDIT_CONFIG": str(config), "LBAUDIT_WAIVERS": None})
    assert run.returncode == 0, run.stdout + run.stderr
    assert _verdicts(out) == {"clean": "compliant", "legacy": "compliant"}


def test_invalid_waivers_file_is_refused_before_anything_is_written(tmp_path: Path):
    fetch = _fleet(tmp_path)
    waivers = _waivers(tmp_path, rule="loopback-onyl")
    out = tmp_path / "out"
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "p.yaml", "--out-dir", out,
                  "--waivers", waivers)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "waivers.yaml:2" in run.stderr and "loopback-onyl" in run.stderr
    assert not out.exists() or not any(out.iterdir())


def test_missing_waivers_file_is_refused(tmp_path: Path):
    fetch = _fleet(tmp_path)
    out = tmp_path / "out"
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "p.yaml", "--out-dir", out,
                  "--waivers", tmp_path / "nowhere.yaml")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "nowhere.yaml" in run.stderr
    assert not out.exists() or not any(out.iterdir())


def test_expired_waiver_of_the_file_waives_nothing_and_is_warned_about(tmp_path: Path):
    fetch = _fleet(tmp_path)
    waivers = _waivers(tmp_path, expires="2001-01-01")
    out = tmp_path / "out"
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "p.yaml", "--out-dir", out,
                  "--waivers", waivers)
    assert run.returncode == 1, run.stdout + run.stderr
    assert _verdicts(out) == {"clean": "compliant", "legacy": "non_compliant"}
    assert "waivers.yaml" in run.stderr and "expired" in run.stderr


def test_a_host_file_cannot_replace_the_waivers_file(tmp_path: Path):
    """The waivers file is an input of every host's run: no host's evidence is written over it."""
    fetch = _fleet(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    waivers = out / "legacy.evidence.json"
    waivers.write_text(WAIVER.format(rule="loopback-only", expires="2999-12-31"), encoding="utf-8")
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "p.yaml", "--out-dir", out,
                  "--waivers", waivers, "--force")
    assert waivers.read_text(encoding="utf-8").startswith("waivers:")
    summary = json.loads((out / "fleet-summary.json").read_text(encoding="utf-8"))
    [legacy] = [h for h in summary["hosts"] if h["host"] == "legacy"]
    assert legacy["exit_code"] == 2 and "waivers file" in legacy["error"], legacy
    assert run.returncode == 2
