"""``lbaudit config show`` of a configuration file whose org_name is 60,000 characters.

The file may hold 64 KB (``MAX_CONFIG_BYTES``), and an environment variable 128 KB.  The table padded
every row's value to the longest value: one org_name of 60,000 characters made each of the 14 lines
60,000 characters wide, 780 KB on a terminal for a 60 KB file.  Now the value column is padded to
at most ``VALUE_COLUMN``, and a longer value is printed on its own row only, cut as a message's line
is (``shown_line``, ``MAX_MESSAGE_LINE_CHARS``).
"""

from __future__ import annotations

from pathlib import Path

from auditor.commands.config import VALUE_COLUMN
from auditor.text import MAX_MESSAGE_LINE_CHARS
from tests.cli import run_cli

SHOWN = 0
VALUE_CHARS = 60_000


def test_a_long_value_widens_its_own_row_only(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text(f'org_name: "{"x" * VALUE_CHARS}"\n', encoding="utf-8")
    config.chmod(0o600)

    result = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(config)})

    assert (result.returncode, result.stderr) == (SHOWN, "")
    lines = result.stdout.splitlines()
    assert lines[0] == f"configuration files: {config}"
    key_width = max(len(line.split(" ", 1)[0]) for line in lines[1:])
    assert lines[1] == f"{'key':<{key_width}}  {'value':<{VALUE_COLUMN}}  source"
    assert lines[2] == f"{'policy':<{key_width}}  {'-':<{VALUE_COLUMN}}  default"
    (org,) = [line for line in lines if line.startswith("org_name ")]
    value = "x" * VALUE_CHARS
    shown = value[:MAX_MESSAGE_LINE_CHARS]
    assert org == (f"{'org_name':<{key_width}}  {shown}\u2026 ({len(value) - MAX_MESSAGE_LINE_CHARS:,} more characters "
                   f"and 0 more lines not shown)  {config}:1")
    assert all(len(line) <= key_width + VALUE_COLUMN + 100 for line in lines if not line.startswith("org_name "))
