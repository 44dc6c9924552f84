"""A waiver whose subject names nothing but ``in netns`` is warned about as a blanket waiver of every namespace.

A waiver with no subject, or one of wildcards alone (``*``, ``* *``), is warned about: it waives every
failing finding of its rule.  A subject must say ``in netns`` to reach a finding in another network
namespace (a container's, an ``ip netns``'s), and ``* in netns *`` (or ``*in netns*``, ``*:* in netns
?*``) says that and nothing else: it names no protocol, address, port, program or namespace, and
waives every failing finding of its rule in every other network namespace, those of containers not
yet started included.  It loaded without a word, where ``*`` alone is warned about.  Now ``validate``
(and so ``evaluate``) warns at it as a blanket waiver of the other namespaces.  A subject that names
the namespace (``* in netns web``) or what listens (``tcp 0.0.0.0:8080 * in netns *``) is not warned
about.
"""

from __future__ import annotations

import pytest

from tests.cli import run_cli

POLICY = """id: ns
version: "1"
owner: T
rules:
  - id: bind
    check: net.bind_addresses
    params:
      allow: [loopback]
waivers:
  - rule: bind
    subject: "{subject}"
    reason: CHG-18 the containers' listeners
    approver: Jane Doe
    expires: {expires}
"""


def _validate(tmp_path, subject: str):
    from datetime import datetime, timedelta, timezone

    expires = (datetime.now(timezone.utc).date() + timedelta(days=200)).isoformat()  # no expiry warning
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(subject=subject, expires=expires), encoding="utf-8")
    run = run_cli("validate", "--no-plugins", policy)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


@pytest.mark.parametrize("subject", ["* in netns *", "*in netns*", "*:* in netns ?*", "* * in netns *"])
def test_a_subject_of_in_netns_and_wildcards_is_warned_about_as_a_blanket(tmp_path, subject):
    out = _validate(tmp_path, subject)
    assert (f"policy.yaml:10:5: warning: waivers[0] (bind): subject {subject!r} names nothing but "
            "'in netns', so it waives every failing finding of the rule in every other network namespace") in out, out


@pytest.mark.parametrize("subject", ["* in netns web", "tcp 0.0.0.0:8080 * in netns *", "tcp *:8080 * in netns ?*"])
def test_control_case_a_subject_naming_the_namespace_or_the_listener_is_not(tmp_path, subject):
    out = _validate(tmp_path, subject)
    assert "warning" not in out, out
