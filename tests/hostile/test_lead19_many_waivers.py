"""A policy of thousands of waivers is validated and evaluated in time linear in them.

Whether a waiver is dead behind an earlier one (``validate``'s "waives nothing" warning) and whether
an applied one was superseded (``evaluate``) were both asked of every waiver against every waiver
before it, each comparison building a set of the earlier subject's characters: 900 waivers of
1,000-character subjects, which fit in the 1 MiB a policy file may be, took 6-20 s to validate, and
a policy of many files (``extends``) longer.
The earlier waivers are now indexed by rule and subject (auditor.model.waiving.EarlierWaivers); the
answer is the same as asking each earlier waiver (``shadows``), which the property test checks.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from auditor.model.policy import Waiver
from auditor.model.waiving import EarlierWaivers, shadows
from tests.cli import run_cli

HEAD = """\
id: many
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
waivers:
"""
WAIVER = "  - {{rule: bind, subject: 'tcp 0.0.0.0:{port} {program}*', reason: CHG-{port} exporter, approver: Jane Doe, expires: {expires}}}\n"


def test_many_long_waivers_validate_in_seconds(tmp_path):
    policy = tmp_path / "p.yaml"
    expires = date.today() + timedelta(days=200)  # nothing else to warn about: the output shows 100 warnings
    program = "x" * 1000  # subjects as long as they may be: each comparison read them whole
    policy.write_text(HEAD + "".join(WAIVER.format(port=port, program=program, expires=expires) for port in range(10_000, 10_900))
                      + WAIVER.format(port=10_000, program=program, expires=expires))  # the last one is dead behind the first
    assert policy.stat().st_size < 1 << 20
    started = time.monotonic()
    validated = run_cli("validate", policy)
    took = time.monotonic() - started
    said = validated.stdout + validated.stderr
    assert validated.returncode == 0, said
    assert "waivers[900] (bind): waives nothing: waivers[0]" in said, said[-2000:]
    assert said.count("waives nothing") == 1
    assert took < 5, f"validate took {took:.1f} s"


def test_the_index_finds_what_asking_each_earlier_waiver_finds():
    chance = random.Random(19)
    subjects = [None, "*", "**", "", "tcp *", "tcp 0.0.0.0:22 *", "tcp 0.0.0.0:80 *", "?*"]
    start = date(2030, 1, 1)
    for _trial in range(300):
        waivers = [Waiver(rule=chance.choice(["a", "b"]), subject=chance.choice(subjects), reason="CHG-1 reviewed",
                          approver="Jane Doe", expires=start + timedelta(days=chance.randrange(5)))
                   for _ in range(chance.randrange(1, 25))]
        earlier = EarlierWaivers()
        for position, waiver in enumerate(waivers):
            expected = next((at for at, prior in enumerate(waivers[:position]) if shadows(prior, waiver)), None)
            assert earlier.first_shadowing(waiver) == expected, (waivers[:position + 1])
            earlier.add(position, waiver)
