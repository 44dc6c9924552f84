"""A YAML file lbaudit reads that is not UTF-8 is exit 2 naming the file, the line and what to do.

The policy and waivers reader said "byte 0xff is not UTF-8; save the file as UTF-8" at its line and
column; the configuration file (LBAUDIT_CONFIG) said Python's codec message instead ("'utf-8' codec
can't decode byte 0xff in position 3: invalid start byte": an offset, no line, nothing to do).  A
file saved as UTF-16 (what some Windows editors call "Unicode") was "byte 0xff is not UTF-8" at
1:1 in either: its byte order mark is named now, with what to do.  One decoder for all three.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
CORP = REPO / "policies" / "corp.yaml"
UTF16 = "the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8"


def test_a_configuration_file_with_a_byte_that_is_not_utf8_names_its_line(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_bytes(b"org_name: Example\n# caf\xe9\n")
    result = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(config)}, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (f"lbaudit: {config}: the configuration file is not valid UTF-8\n"
                             f"  {config}:2:6: byte 0xe9 is not UTF-8; save the file as UTF-8\n")


def test_a_configuration_file_saved_as_utf16_is_named_as_such(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_bytes("org_name: Example\n".encode("utf-16"))
    result = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(config)}, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (f"lbaudit: {config}: the configuration file is not valid UTF-8\n"
                             f"  {config}:1:1: {UTF16}\n")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_policy_saved_as_utf16_is_named_as_such(tmp_path, encoding):
    policy = tmp_path / "policy.yaml"
    text = CORP.read_text(encoding="utf-8")
    # utf-16 writes its byte order mark; the -le/-be codecs do not, so one is written as an editor would
    policy.write_bytes(text.encode(encoding) if encoding == "utf-16" else ("\ufeff" + text).encode(encoding))
    result = run_cli("validate", policy, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"policy.yaml: policy is not valid UTF-8\n  policy.yaml:1:1: {UTF16}\n"
