"""Hostile corpus, policy round 10: a policy, waivers or configuration file saved as UTF-16 without a
byte order mark, or as UTF-32, is named as such.

A UTF-16 file with its byte order mark was already refused as UTF-16.  Without one (what
``iconv -t UTF-16LE`` and some editors write), NUL being UTF-8, the file decoded and YAML refused
its first NUL: "invalid YAML: character '\\x00' is not allowed in a YAML file" at 1:2, which said
nothing of what the file was or what to do; a UTF-32 file was called UTF-16.  Each is now "the file
is UTF-16 (every other byte is NUL); save it as UTF-8" (or UTF-32, by its mark), exit 2.
"""

from __future__ import annotations

import pytest

from tests.cli import run_cli

POLICY = 'id: t\nversion: "1"\nowner: Sec\nrules:\n  - id: bind\n    check: net.bind_addresses\n'


@pytest.mark.parametrize(("encoding", "said"), [
    ("utf-16-le", "the file is UTF-16 (every other byte is NUL); save it as UTF-8"),
    ("utf-16-be", "the file is UTF-16 (every other byte is NUL); save it as UTF-8"),
    ("utf-32", "the file is UTF-32 (it starts with a UTF-32 byte order mark); save it as UTF-8"),
])
def test_a_wide_policy_is_named_by_its_encoding(tmp_path, encoding, said):
    """On main: "character '\\x00' is not allowed" (UTF-16 without a mark), or "UTF-16" for UTF-32."""
    policy = tmp_path / "p.yaml"
    policy.write_bytes(POLICY.encode(encoding))
    result = run_cli("validate", policy)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{policy}:1:1: {said}" in result.stderr


def test_a_wide_waivers_and_configuration_file_too(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    waivers = tmp_path / "w.yaml"
    waivers.write_bytes("waivers: []\n".encode("utf-16-le"))
    result = run_cli("validate", policy, "--waivers", waivers)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{waivers}:1:1: the file is UTF-16 (every other byte is NUL); save it as UTF-8" in result.stderr
    config = tmp_path / "config.yaml"
    config.write_bytes("org_name: Example\n".encode("utf-16-be"))
    result = run_cli("validate", policy, env={"LBAUDIT_CONFIG": str(config)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{config}:1:1: the file is UTF-16 (every other byte is NUL); save it as UTF-8" in result.stderr


def test_a_nul_elsewhere_is_still_a_character_yaml_refuses(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_bytes(POLICY.encode() + b"# \x00\n")
    result = run_cli("validate", policy)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{policy}:7:3: invalid YAML: character '\\x00' is not allowed in a YAML file" in result.stderr
