"""An anchor (``&name``) is refused where it is written, as the README says anchors are, not only once
an alias repeats it.  One that no alias named was taken as if it were not there (exit 0 from
``validate``): the policy a reviewer reads as sharing a value with another place shared nothing, and
the reader and the README disagreed on what a policy may hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

HEAD = 'id: p\nversion: "1"\nowner: T\n'


@pytest.mark.parametrize("text, where", [
    (HEAD + "rules:\n  - id: eph\n    check: net.ephemeral_port_range\n    params: &eph {min_pool_size: 20000}\n", "7:13"),
    (HEAD + "description: &d the servers\nrules:\n  - id: eph\n    check: net.ephemeral_port_range\n", "4:14"),
    (HEAD + "rules:\n  - &rule\n    id: eph\n    check: net.ephemeral_port_range\n", "5:5"),
], ids=["params", "description", "rule"])
def test_an_anchor_no_alias_names_is_exit_2_at_its_place(tmp_path: Path, text: str, where: str):
    policy = tmp_path / "p.yaml"
    policy.write_text(text, encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", policy)
    assert checked.returncode == 2, checked.stdout
    assert f"{policy}:{where}: anchors and aliases (&name / *name) are not supported in policies" in checked.stderr


def test_an_anchor_in_a_waivers_or_configuration_file_too(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text(HEAD + "rules:\n  - id: eph\n    check: net.ephemeral_port_range\n", encoding="utf-8")
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers: &w []\n", encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", "--waivers", waivers, policy)
    assert checked.returncode == 2
    assert f"{waivers}:1:10: anchors and aliases" in checked.stderr
    config = tmp_path / "config.yaml"
    config.write_text("assessor: &a Jane Doe\n", encoding="utf-8")
    shown = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(config)})
    assert shown.returncode == 2
    assert f"{config}:1:11: anchors and aliases" in shown.stderr
