"""A snapshot's gap about a field its section does not have is refused, not ignored.

A gap says what a collector could not see.  One naming a field of its section that no model holds
(``sockets.foo``: a hand edit, a snapshot stitched by another tool) was read by no check: the rule
judged the rest and passed, ``lbaudit evaluate`` exit 0, with the snapshot itself saying something
of that section was missing.  Now such a snapshot contradicts itself (exit 2, naming the gap and the
fields the section has), as one whose gap says a present field could not be read already did.
"""

from __future__ import annotations

from pathlib import Path

from auditor.model.facts import Gap
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot


def _evaluate(tmp_path: Path, gaps: list[Gap]):
    path, policy = tmp_path / "host.snapshot.json", tmp_path / "policy.yaml"
    path.write_bytes(snapshot_bytes(snapshot(listeners=[listener("127.0.0.1", 5432)], gaps=gaps)))
    policy.write_text(loopback_only_policy("gaps"), encoding="utf-8")
    return run_cli("evaluate", "--no-plugins", "--policy", policy, "--snapshot", path, "-o", tmp_path / "e.json",
                   "--color", "never"), path


def test_a_gap_on_a_field_the_section_does_not_have_is_refused(tmp_path: Path) -> None:
    run, path = _evaluate(tmp_path, [Gap(section="sockets", path=("foo",), reason="could not read foo")])
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert (f"{path}: /gaps/0: is about sockets.foo, which the sockets section does not have "
            "(it has counts, listeners, platform)") in run.stderr
    assert not (tmp_path / "e.json").exists()


def test_control_case_a_gap_on_a_field_it_has_makes_the_rule_not_reviewed(tmp_path: Path) -> None:
    run, _ = _evaluate(tmp_path, [Gap(section="sockets", path=("listeners", "udp"), reason="udp refused")])
    assert run.returncode == 3, (run.stdout, run.stderr)
