"""An inventory name with a comma was split in the play's list of expected hosts.

The play passed its hosts to ``fleet evaluate`` as one ``--expect-hosts`` value joined with commas,
which the command splits on commas.  An inventory name holding a comma (``good01,``, ``web,02``: an
INI or YAML inventory takes them, a dynamic inventory may make them from cloud tags) was then
not one expected host but its pieces: the role refused the name (it cannot name the host's files)
so nothing was collected for it, and ``good01,`` expected became ``good01`` expected, a host that
was scanned: the fleet was compliant (exit 0) with one of its hosts never scanned nor named.
``web,02`` became two bogus hosts ``web`` and ``02``, and the host itself was named nowhere.

Now the play passes each host as its own ``--expect-host NAME``, which is never split, and
``fleet evaluate`` refuses a name that cannot name a host, naming it whole (exit 2, as for ``-rf``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, snapshot
from tests.hostile.test_fleet_playbook import _answering, _play, _target, work  # noqa: F401  (fixture)

POLICY = """\
id: fleet23-commas
version: "1"
owner: Tests <tests@example.test>
rules:
  - id: loopback-only
    check: net.bind_addresses
    params:
      allow: [loopback]
"""


def _fetched(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / "fetch" / name).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=name,
                                collected_at=datetime.now(timezone.utc)),
                       tmp_path / "fetch" / name / "lbaudit.snapshot.json")
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    return tmp_path / "fetch"


@pytest.mark.parametrize("name", ["good01,", "web,02", ",", "good01, good02"])
def test_expect_host_is_one_name_never_split_and_a_comma_is_refused_whole(tmp_path: Path, name: str):
    fetch = _fetched(tmp_path, "good01", "good02")
    out = tmp_path / "out"
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "p.yaml", "--out-dir", out,
                  "--expect-host", "good01", f"--expect-host={name}", "--expect-host", "good02")
    assert run.returncode == 2, run.stdout + run.stderr
    assert repr(name) in run.stderr and "cannot name a host" in run.stderr, run.stderr
    assert not out.exists()


def test_expect_host_names_each_host(tmp_path: Path):
    fetch = _fetched(tmp_path, "good01", "good02")
    out = tmp_path / "out"
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "p.yaml", "--out-dir", out,
                  "--expect-host", "good01", "--expect-host=good02", "--expect-host", "gone03")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "gone03: exit 2" in run.stdout
    assert "good01: compliant" in run.stdout and "good02: compliant" in run.stdout


def test_expect_hosts_still_takes_a_comma_separated_list(tmp_path: Path):
    fetch = _fetched(tmp_path, "good01", "good02")
    out = tmp_path / "out"
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "p.yaml", "--out-dir", out,
                  "--expect-hosts", "good01,good02")
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.integration
@pytest.mark.root
def test_the_play_does_not_pass_a_fleet_whose_host_with_a_comma_was_never_scanned(work: Path):  # noqa: F811
    inventory = [f"good01 ansible_connection=local {_target(work, 'good01', _answering())}",
                 f"good01, ansible_connection=local {_target(work, 'comma01', _answering())}"]
    played, took = _play(work, inventory)
    assert played is not None, f"the play was still running after {took:.0f} s"
    # before: 'good01,' expected as 'good01', which was scanned: the fleet was judged without it
    assert played.returncode == 2, played.stdout[-4000:]
    assert "'good01,'" in played.stdout and "cannot name a host" in played.stdout, played.stdout[-4000:]


@pytest.mark.parametrize("given", ["", " ", ",", " , "])
def test_expect_hosts_that_names_no_host_is_refused_not_dropped(tmp_path: Path, given: str):
    """``--expect-hosts "$HOSTS"`` with ``HOSTS`` empty (an inventory query that failed) was read as
    no expectation at all: the run judged whatever it found, exit 0, and a host missing from the
    collection was not named.  Now such a value is refused (exit 2) before anything is written."""
    fetch = _fetched(tmp_path, "good01")
    out = tmp_path / "out"
    run = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "p.yaml", "--out-dir", out,
                  "--expect-hosts", given)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "--expect-hosts" in run.stderr and "names no host" in run.stderr, run.stderr
    assert not out.exists()
