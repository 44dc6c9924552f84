"""A reporter plugin whose format name is not a name ``--format`` can take.

A reporter plugin's ``name`` is the ``--format`` value that selects it, the name every message
lists among the formats, and the ``format`` its evidence records (``reporter_plugins``).  Its
extension was checked (tests/hostile/test_outputs16_plugin_extension.py); its name was not: a name
that is a number ended every ``evaluate`` with exit 70 (``'<' not supported between 'int' and
'str'``, sorting the formats), one holding ESC went into the evidence as it was (and from there to
whatever shows it), and an empty name, or one with a space or a comma, was listed as a format that
no ``--format`` (comma-separated) can name.  Now the name must be a format name (a letter or digit,
then at most 31 letters, digits, ".", "-" or "_"), checked when the plugin is loaded: a
RegistryError (exit 2) naming the plugin, nothing written.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"

PLUGIN = """
import os

from auditor.report import Reporter


def render(evidence, context):
    return b"rendered by the plugin"


NAME = os.environ["NAMEPLUG_NAME"]
REPORTER = Reporter(name=int(NAME[4:]) if NAME.startswith("int:") else NAME, extension=".named",
                    description="A test reporter.", render=render)
"""

POLICY = """id: names
version: "1"
owner: Security <sec@example.com>
rules:
  - id: eph
    check: net.ephemeral_port_range
"""


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    install_plugin(tmp_path / "site", monkeypatch, "nameplug", PLUGIN, "[lbaudit.reporters]\nnameplug = nameplug:REPORTER\n")
    (tmp_path / "policy.yaml").write_text(POLICY)
    return tmp_path


@pytest.mark.parametrize("name", ["int:5", "", "a b", "a,b", "a\x1b[2Jb", "x" * 40, "-dash", "caf\u00e9"])
def test_a_reporter_plugin_whose_name_is_no_format_name_is_refused(work: Path, name: str) -> None:
    result = run_cli("evaluate", "--policy", "policy.yaml", "--root", ROOT, "-o", "e.json", "-q", cwd=work,
                     env={"NAMEPLUG_NAME": name})
    assert result.returncode == 2, result.stderr
    assert "nameplug" in result.stderr and "is not a format name" in result.stderr, result.stderr
    assert "\x1b" not in result.stderr
    assert not (work / "e.json").exists()


def test_control_case_a_format_name_is_rendered(work: Path) -> None:
    result = run_cli("evaluate", "--policy", "policy.yaml", "--root", ROOT, "-o", "e.json", "-q", "--format",
                     "named-2.x", "--out-dir", "out", cwd=work, env={"NAMEPLUG_NAME": "named-2.x"})
    assert result.returncode in (0, 1), result.stderr
    assert (work / "out" / "names.named").read_bytes() == b"rendered by the plugin"
