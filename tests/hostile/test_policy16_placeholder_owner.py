"""A policy whose owner is a placeholder is warned about.

``lbaudit init`` writes ``owner: TODO <security@example.com>``, and reports name the policy owner as
the assessor unless ``--assessor`` is given: a PDF attestation or OSCAL assessment then named "TODO"
as the one who assessed the host, with validate saying "ok" and nothing else.  The owner grants no
pass, so it is a warning (exit 0), at its line, not a problem.
"""

from __future__ import annotations

from tests.cli import run_cli

POLICY = """id: p
version: "1"
owner: {owner}
rules:
  - id: pool
    check: net.ephemeral_port_range
"""


def test_validate_warns_about_the_owner_init_writes(tmp_path):
    """On main: "p.yaml: ok (p 1: 1 enabled rules, 0 waivers)" and nothing else."""
    (tmp_path / "p.yaml").write_text(POLICY.format(owner="TODO <security@example.com>"), encoding="utf-8")
    run = run_cli("validate", "--no-plugins", "p.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == [
        "p.yaml: ok (p 1: 1 enabled rules, 0 waivers, 1 warning)",
        "  p.yaml:3:1: warning: owner: 'TODO <security@example.com>' is a placeholder, not a name; write who owns "
        "this policy (reports name the owner as the assessor unless --assessor is given)"]


def test_control_case_a_written_owner_says_nothing(tmp_path):
    (tmp_path / "p.yaml").write_text(POLICY.format(owner="Platform Security <sec@example.com>"), encoding="utf-8")
    run = run_cli("validate", "--no-plugins", "p.yaml", cwd=tmp_path)
    assert run.stdout == "p.yaml: ok (p 1: 1 enabled rules, 0 waivers)\n", run.stdout + run.stderr
