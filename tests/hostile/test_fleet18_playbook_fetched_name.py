"""The name a target gives its snapshot chose the name of the fetched file on the controller, and an
earlier run's file of another name stayed there as the host's next snapshot.

The scan role fetched ``lbaudit_collected.snapshot`` (the path the collect module running on the
target returns) into ``{{ lbaudit_fetch_dir }}/{{ inventory_hostname }}/`` under its own base name,
and before each run forgot only ``lbaudit.snapshot.json`` there.  A compromised target answered its
collect task with ``snapshot: .../keep.snapshot.json`` (a file of its choosing, facts that pass),
which was fetched as ``keep.snapshot.json``; on the next run the host did not answer (unreachable,
its collection failing), the file stayed, and ``fleet evaluate`` judged it as the host now
("compliant", within the play's --max-age 1d) instead of failing an expected host not scanned.
The controller now names the fetched file itself, and before each run forgets every snapshot in the
host's fetch directory, whatever its name.

Run for real as tests/hostile/test_fleet_playbook.py runs its targets (``ansible_connection=local``).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.hostile.test_fleet_playbook import _answering, _play, _rows, _target, work  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.root]


def test_a_host_not_answering_is_not_judged_on_a_file_it_named_in_an_earlier_run(work: Path):  # noqa: F811
    from auditor.storage.snapshot import write_snapshot
    from tests.factories import listener, snapshot

    kept = work / "targets" / "evil01" / "keep.snapshot.json"
    kept.parent.mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="evil01", machine_id="e" * 32,
                            collected_at=datetime.now(timezone.utc)), kept)
    answer = json.dumps({"changed": False, "snapshot": str(kept), "written": True, "sha256": "", "hostname": "evil01",
                         "method": "api", "gaps": [], "collector_version": "0"})
    compromised = f"cat > /dev/null\necho '{answer}'"  # the module's answer, whatever the module said
    inventory = [f"good01 ansible_connection=local {_target(work, 'good01', _answering())}",
                 f"evil01 ansible_connection=local {_target(work, 'evil01', compromised)}"]
    played, took = _play(work, inventory)
    assert played is not None, f"the play was still running after {took:.0f} s"
    assert played.returncode in (0, 1, 3), played.stdout[-4000:]
    assert sorted(_rows(work)) == ["evil01", "good01"]
    # the controller names the file it fetched, whatever the target said its snapshot was
    assert sorted(p.name for p in (work / "fetch" / "evil01").iterdir()) == ["lbaudit.snapshot.json"]

    # the next run: evil01 does not answer its collection (its interpreter fails)
    (work / "targets" / "evil01" / "venv" / "bin" / "python").write_text("#!/bin/sh\nexit 1\n")
    played, took = _play(work, inventory)
    assert played is not None, f"the play was still running after {took:.0f} s"
    rows = _rows(work)
    # before: evil01 judged from fetch/evil01/keep.snapshot.json, left by the earlier run
    assert (rows["evil01"]["verdict"], rows["evil01"]["exit_code"]) == (None, 2)
    # its directory stays (the earlier run's snapshot in it forgotten), with no snapshot
    assert rows["evil01"]["error"] == f"{work / 'fetch' / 'evil01'}: no *.snapshot.json in the host's directory"
    assert rows["good01"]["error"] is None
    assert played.returncode == 2, played.stdout[-4000:]


def test_a_snapshot_of_any_name_left_in_a_hosts_fetch_dir_is_forgotten_before_the_run(work: Path):  # noqa: F811
    """As an older play left it (fetched under the name the target gave), or put there by hand."""
    from auditor.storage.snapshot import write_snapshot
    from tests.factories import listener, snapshot

    left = work / "fetch" / "evil01"
    left.mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="evil01", machine_id="e" * 32,
                            collected_at=datetime.now(timezone.utc)), left / "keep.snapshot.json")
    (left / ".hidden.snapshot.json").write_text("{}")
    (left / "notes.txt").write_text("the operator's, not a snapshot\n")
    inventory = [f"good01 ansible_connection=local {_target(work, 'good01', _answering())}",
                 f"evil01 ansible_connection=local {_target(work, 'evil01', 'exit 1')}"]
    played, took = _play(work, inventory)
    assert played is not None, f"the play was still running after {took:.0f} s"
    assert played.returncode == 2, played.stdout[-4000:]
    rows = _rows(work)
    assert (rows["evil01"]["verdict"], rows["evil01"]["exit_code"]) == (None, 2)
    assert rows["evil01"]["error"] == f"{left}: no *.snapshot.json in the host's directory"
    assert sorted(p.name for p in left.iterdir()) == ["notes.txt"]
