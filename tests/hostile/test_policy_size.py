"""A policy of a million bytes is refused in about a second, not read for minutes.

PyYAML's pure-Python reader spends some 60 us on each key, value and list item: a 1 MiB policy of
260,000 one-character list items (under the 1 MiB cap) took 17 s of CPU, over a minute on a loaded
machine, before ``validate`` or ``evaluate`` said anything.  The reader now stops at 20,000 nodes
with exit 2 at the line where the limit was passed, and ``init --from-host`` writes a run of
consecutive ports as one range so that a host's policy stays far below it.
"""

from __future__ import annotations

import pytest

from auditor.commands.init import policy_text
from auditor.model.facts import ProcessInfo
from auditor.policy.loader import MAX_POLICY_BYTES
from tests.cli import run_cli
from tests.factories import listener, snapshot, sysctl_facts

MAX_NODES = 20_000  # auditor.policy.yamlsafe.MAX_NODES (not imported: main has none, and must fail by the clock)
HEAD = """id: big
version: "1"
owner: T
rules:
  - id: r
    check: drift.audit_rules
"""


@pytest.mark.slow  # about a second of YAML before the limit
@pytest.mark.parametrize("command", ["validate", "evaluate"])
def test_a_megabyte_of_list_items_is_exit_2_within_seconds(tmp_path, command):
    items = (MAX_POLICY_BYTES - len(HEAD) - 100) // 4
    policy = tmp_path / "policy.yaml"
    policy.write_text(HEAD + "description:\n" + "- 1\n" * items, encoding="utf-8")
    args = ["--policy", policy, "--snapshot", tmp_path / "none.json", "-o", tmp_path / "e.json"] \
        if command == "evaluate" else [policy]
    run = run_cli(command, "--no-plugins", *args, timeout=12)
    assert run.returncode == 2, run.stdout + run.stderr
    # the node past the limit: 16 nodes down to the list (the root mapping, 6 keys and their values,
    # the rules list, the rule mapping, its 2 keys and values, "description" and its list), then its items
    line = HEAD.count("\n") + 1 + (MAX_NODES + 1 - 16)
    assert (f"policy.yaml:{line}:3: more than {MAX_NODES} keys, values and list items"
            in run.stdout + run.stderr)
    assert not (tmp_path / "e.json").exists()


@pytest.mark.slow  # 30,000 listeners built as models
def test_init_from_a_host_with_thousands_of_ports_writes_a_policy_that_loads(tmp_path):
    """A media server bound to 30,000 consecutive UDP ports: one range, not 30,000 items."""
    rtp = [ProcessInfo(pid=7, name="rtpengine")]
    snap = snapshot(listeners=[listener("0.0.0.0", port, protocol="udp", processes=rtp)
                               for port in range(20000, 50000)] + [listener("0.0.0.0", 22, processes=rtp)],
                    sysctl=sysctl_facts())
    text = policy_text(snap, "2026.11.28")
    assert '- match: {process: "rtpengine", ports: ["20000-49999"], protocol: udp}' in text
    policy = tmp_path / "policy.yaml"
    # with its reasons written (validate refuses a reason TODO)
    policy.write_text(text.replace("          reason: TODO", "          reason: reviewed"), encoding="utf-8")
    run = run_cli("validate", "--no-plugins", policy)
    assert run.returncode == 0, run.stdout + run.stderr
