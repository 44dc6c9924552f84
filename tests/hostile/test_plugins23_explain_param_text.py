"""``lbaudit explain`` of a plugin check whose params' texts are hostile.

Before: the registry refuses a check whose title, rationale or remediation holds control or bidi
characters, or runs past its bound, but the params' texts (a param's description, its name as the
plugin's model gives it, its default) were printed by ``explain`` as the plugin wrote them: on a
terminal (click strips ANSI sequences only when stdout is not one) a description's ``\\x1b[2J``
cleared the screen and ``\\u202e`` reversed the line, and a description of megabytes was printed
whole.  Now each is shown as ``one_line`` shows text (escapes: ``\\x1b``, ``\\u202e``) and cut at
MAX_MESSAGE_LINE_CHARS, saying how much more the plugin's params hold.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

PLUGIN = """
from pydantic import Field

from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    limit: int = Field(3, description="fine\\x1b[2J\\x1b[31mRED\\u202eevil\\nverdict: COMPLIANT")
    words: list[str] = Field(default_factory=lambda: ["\\x1b[2J"], description="y" * 1_000_000)


@check(name="textplug.x", title="T", version="1", needs=["sysctl"], params=Params, severity="high",
       controls=["CM-6"], rationale="r", remediation="m")
def x(snapshot, params):
    return [passed("a", "b")]
"""


def test_explain_shows_a_plugins_param_texts_as_plain_bounded_text(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "textplug", PLUGIN, "[lbaudit.checks]\ntextplug = textplug\n")
    run = run_cli("explain", "textplug.x", terminal=100)
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout and "\u202e" not in run.stdout, repr(run.stdout[:2000])
    assert "\\x1b[2J" in run.stdout and "\\u202e" in run.stdout, run.stdout[:2000]
    assert "\nverdict: COMPLIANT" not in run.stdout
    assert len(run.stdout) < 100_000, len(run.stdout)
    assert "more characters" in run.stdout
