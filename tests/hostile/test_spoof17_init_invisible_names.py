"""``lbaudit init --from-host`` writes a process name's invisible characters as escapes the reviewer sees.

The starter policy is read by the one who writes each exception's reason: it is an approval.  A
listener's process name went into its exception's match as the host had it, inside a YAML string:
``process: "ss\\u200bhd"`` with a raw zero-width space (or joiner, BOM, soft hyphen, tag character)
read ``process: "sshd"`` in any editor, so the reviewer approved what looked like sshd on 0.0.0.0:22.
Now each such character is written as the YAML escape of it (``"ss\\u200bhd"``): the policy still
matches exactly that process (the loader reads the escape back), and the reviewer sees it is not sshd.
"""

from __future__ import annotations

from auditor.commands.init import policy_text
from auditor.engine.registry import load_registry
from auditor.model.facts import ProcessInfo
from auditor.policy.loader import load_policy
from tests.factories import listener, snapshot

NAMES = ["ss\u200bhd", "ss\u200dhd", "\ufeffsshd", "ss\u00adhd", "sshd\U000e0041", "ss\u2060hd"]


def _policy_of(name: str) -> str:
    process = ProcessInfo(pid=7, name=name, exe=f"/usr/sbin/{name}", argv0=f"/usr/sbin/{name}", user="root")
    return policy_text(snapshot(listeners=[listener("0.0.0.0", 22, processes=[process])]), "2026-11-29")


def test_the_match_shows_each_invisible_character_as_an_escape():
    for name in NAMES:
        text = _policy_of(name)
        match = [line for line in text.splitlines() if "- match:" in line]
        assert len(match) == 1
        # before: the match held the character raw ("sshd" to the eye)
        assert match[0].isascii(), (name, match[0])
        escaped = name.encode("unicode_escape").decode("ascii").replace("\\xad", "\\u00ad")
        assert f'process: "{escaped}"' in match[0]


def test_the_escaped_match_still_names_exactly_that_process(tmp_path):
    registry = load_registry(plugins=False)
    for name in NAMES:
        path = tmp_path / "policy.yaml"
        path.write_text(_policy_of(name).replace("reason: TODO", "reason: reviewed"), encoding="utf-8")
        policy = load_policy(path, registry)
        exception = policy.rules[0].params["exceptions"][0]
        assert exception["match"]["process"] == name
