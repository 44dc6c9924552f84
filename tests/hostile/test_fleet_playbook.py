"""Hostile targets of the Ansible playbook ``lbaudit.compliance.scan``, run for real: hosts reached
over SSH (an ``sshd -i`` started by the ProxyCommand, on this machine) or ``ansible_connection=local``.

* A host whose SSH connects but whose command never returns (its interpreter sleeps) or streams
  output for ever held the whole play: no task on a target had a time limit, so the fleet was never
  evaluated, not even the hosts that answered.  Every task on a target now has one
  (``lbaudit_task_timeout``); such a host fails its task, has no snapshot, and fails in the fleet
  as an expected host that was not scanned (exit 2), while the others are judged.
* An inventory name is a path on the controller (``{{ lbaudit_fetch_dir }}/{{ inventory_hostname }}/``):
  ``../outside`` (a dynamic inventory's name from a cloud tag) had the play delete, then write,
  ``lbaudit.snapshot.json`` outside the fetch directory.  The scan role refuses a name that cannot
  name a host's file (as ``fleet evaluate`` does) before anything is touched.
* When every host failed (unreachable, collection failed), Ansible ran no later play: no fleet was
  evaluated and an earlier run's summary stayed in the out dir.  A host not scanned is rescued now,
  and fails in the fleet.
* ``--limit`` narrows every play: the controller's play (``hosts: localhost``) was skipped, "no
  hosts matched", and the playbook ended 0 with no fleet evaluated.  The evaluation is now the play's
  last tasks, run once and delegated to the controller, expecting the play's hosts.
* The snapshot directory (``/var/tmp/lbaudit``) made first by another local user stayed theirs: they
  could replace the snapshot between collection and fetch.  The module refuses such a directory.

Skipped with the reason when not root or when ``sshd``, ``ssh`` or ``ansible-playbook`` is missing
(under CI=true those are installed, so they must run).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli import REPO

pytestmark = [pytest.mark.integration, pytest.mark.root]

SSHD = "/usr/sbin/sshd"
BIN = Path(sys.executable).parent
PLAY_LIMIT = 240  # seconds: far beyond what the play takes once every task on a target has its limit
TASK_TIMEOUT = 45  # seconds: the answering host collects this machine within it, even under load


def _tool(name: str) -> str | None:
    beside = BIN / name
    return str(beside) if beside.exists() else shutil.which(name)


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (sshd -i as the login of a target)"
    for tool, path in (("sshd", SSHD if os.access(SSHD, os.X_OK) else None), ("ssh", shutil.which("ssh")),
                       ("ssh-keygen", shutil.which("ssh-keygen")), ("ansible-playbook", _tool("ansible-playbook"))):
        if path is None:
            return f"{tool} is not installed (scripts/bootstrap --test installs openssh-server and ansible-core)"
    return None


@pytest.fixture
def work(tmp_path: Path) -> Path:
    reason = _missing()
    if reason:
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"CI=true: the playbook tests must run, but {reason}")
        pytest.skip(reason)
    tmp_path.chmod(0o700)
    # the collection as Ansible finds it: ansible_collections/lbaudit/compliance, this checkout's
    collection = tmp_path / "collections" / "ansible_collections" / "lbaudit"
    collection.mkdir(parents=True)
    (collection / "compliance").symlink_to(REPO / "ansible")
    return tmp_path


def _ssh_host(work: Path) -> str:
    """The inventory variables of a host reached over SSH: sshd -i on this machine, by ProxyCommand."""
    ssh = work / "ssh"
    if not ssh.exists():
        ssh.mkdir(mode=0o700)
        for key in ("hostkey", "client"):
            done = subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / key)],
                                  capture_output=True, timeout=60)
            assert done.returncode == 0, done.stderr
        shutil.copy(ssh / "client.pub", ssh / "authorized_keys")
        (ssh / "sshd_config").write_text(
            f"HostKey {ssh / 'hostkey'}\nAuthorizedKeysFile {ssh / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "UsePAM no\nStrictModes no\nPidFile none\nSubsystem sftp internal-sftp\nLogLevel ERROR\n")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    proxy = f"{SSHD} -i -f {ssh / 'sshd_config'}"
    return (f"ansible_host=127.0.0.1 ansible_user=root ansible_ssh_private_key_file={ssh / 'client'} "
            f"ansible_ssh_common_args='-o ProxyCommand=\"{proxy}\" -o UserKnownHostsFile=/dev/null'")


def _target(work: Path, directory: str, python: str) -> str:
    """A target's own venv (``lbaudit`` present, so nothing is installed), whose interpreter is ``python``
    (a shell script), and its snapshot directory; its inventory variables."""
    venv = work / "targets" / directory / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "lbaudit").write_text("#!/bin/sh\nexit 70\n")
    (venv / "bin" / "python").write_text(f"#!/bin/sh\n{python}\n")
    for name in ("lbaudit", "python"):
        (venv / "bin" / name).chmod(0o755)
    return (f"ansible_python_interpreter=/usr/bin/python3 lbaudit_venv={venv} "
            f"lbaudit_snapshot_dir={work / 'targets' / directory / 'snap'}")


def _answering() -> str:
    """An interpreter that is this checkout's: the module collects this machine's facts."""
    return f'PYTHONPATH={REPO} exec {sys.executable} "$@"'


def _never_answering(work: Path, how: str) -> str:
    """An interpreter that never returns: it sleeps, or streams a line five times a second for ever;
    its process id is written down, for the test to end it."""
    pids = work / "pids"
    if how == "sleeps":
        return f"echo $$ >> {pids}\nexec sleep 3600"
    return f"echo $$ >> {pids}\nwhile :; do echo streaming; sleep 0.2; done"


def _play(work: Path, inventory: list[str], *extra: str) -> tuple[subprocess.CompletedProcess | None, float]:
    """``ansible-playbook lbaudit.compliance.scan`` on ``inventory``; (its result, or None when it was
    still running after PLAY_LIMIT seconds, and how long it ran)."""
    (work / "inventory.ini").write_text("[lbaudit_targets]\n" + "\n".join(inventory) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({
        "PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}",
        "ANSIBLE_COLLECTIONS_PATH": str(work / "collections"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=no",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-local"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    })
    argv = [_tool("ansible-playbook") or "ansible-playbook", "-i", str(work / "inventory.ini"), "lbaudit.compliance.scan",
            "-e", f"lbaudit_policy={REPO / 'policies' / 'corp.yaml'}", "-e", f"lbaudit_out_dir={work / 'out'}",
            "-e", f"lbaudit_fetch_dir={work / 'fetch'}",
            "-e", json.dumps({"lbaudit_controller_command": [sys.executable, "-m", "auditor.cli"],
                              "lbaudit_controller_environment": {"PYTHONPATH": str(REPO)}}), *extra]
    started = time.monotonic()
    process = subprocess.Popen(argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=PLAY_LIMIT)
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr), time.monotonic() - started
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the play this test started, and its ssh clients
        process.communicate()
        return None, time.monotonic() - started
    finally:
        _end_targets(work)


def _end_targets(work: Path) -> None:
    """End the never-answering interpreters this test's targets started (sshd -i put them in sessions
    of their own), by the process ids they wrote down."""
    pids = work / "pids"
    if not pids.exists():
        return
    for line in pids.read_text().split():
        try:
            os.kill(int(line), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _rows(work: Path) -> dict[str, dict]:
    return {h["host"]: h for h in json.loads((work / "out" / "fleet-summary.json").read_text())["hosts"]}


def test_a_host_whose_command_never_returns_fails_alone_and_the_fleet_is_still_judged(work: Path):
    inventory = [f"good01 {_ssh_host(work)} {_target(work, 'good01', _answering())}",
                 f"sleeps01 {_ssh_host(work)} {_target(work, 'sleeps01', _never_answering(work, 'sleeps'))}",
                 f"streams01 {_ssh_host(work)} {_target(work, 'streams01', _never_answering(work, 'streams'))}"]
    played, took = _play(work, inventory, "-e", f"lbaudit_task_timeout={TASK_TIMEOUT}")
    assert played is not None, f"the play was still running after {took:.0f} s: a target that never answers held it"
    # the fleet was evaluated: fleet evaluate's exit 2 (hosts not scanned) fails the play, as a bad host does
    assert played.returncode == 2, played.stdout[-4000:] + played.stderr[-2000:]
    rows = _rows(work)
    assert sorted(rows) == ["good01", "sleeps01", "streams01"]
    assert rows["good01"]["error"] is None and rows["good01"]["verdict"] is not None
    for host in ("sleeps01", "streams01"):
        assert rows[host]["exit_code"] == 2 and rows[host]["verdict"] is None
        assert rows[host]["error"] == (f"host {host!r} is expected (--expect-hosts) but no snapshot of it was found "
                                       f"under {work / 'fetch'}: it was not scanned in this run")
        assert not (work / "fetch" / host).exists()
    for host in ("sleeps01", "streams01"):  # each failed by its own task's limit, not by the play's end
        (failed,) = [line for line in played.stdout.splitlines() if line.startswith(f"fatal: [{host}]")]
        assert "timed out" in failed.lower()
    assert json.loads((work / "out" / "fleet-summary.json").read_text())["exit_code"] == 2


@pytest.mark.parametrize("name", ["../outside", "-rf", "web01/../outside"])
def test_an_inventory_name_that_is_not_a_host_file_name_touches_nothing_outside_the_fetch_dir(work: Path, name: str):
    (work / "outside").mkdir()
    kept = work / "outside" / "lbaudit.snapshot.json"
    kept.write_text("not the play's to delete\n")
    inventory = [f"good01 ansible_connection=local {_target(work, 'good01', _answering())}",
                 f"{name} ansible_connection=local {_target(work, 'hostile', _answering())}"]
    played, took = _play(work, inventory)
    assert played is not None, f"the play was still running after {took:.0f} s"
    assert kept.read_text() == "not the play's to delete\n"
    assert sorted(p.name for p in (work / "outside").iterdir()) == ["lbaudit.snapshot.json"]
    assert sorted(p.name for p in (work / "fetch").iterdir()) == ["good01"]
    assert f"inventory name {name!r} cannot name a host's files" in played.stdout
    assert not (work / "targets" / "hostile" / "snap" / "lbaudit.snapshot.json").exists()  # nothing collected there
    # the run names the host it could not scan: fleet evaluate refuses the name (exit 2), the play fails
    assert played.returncode == 2


def test_when_every_host_fails_the_fleet_is_still_evaluated_and_each_host_counted_not_scanned(work: Path):
    # an earlier run's summary in the out dir, in which both hosts were judged
    from auditor.storage.snapshot import write_snapshot
    from tests.cli import run_cli
    from tests.factories import listener, snapshot

    for number, host in enumerate(("broken01", "unreachable01")):
        (work / "earlier" / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=host, machine_id=f"{number + 1:032x}"),
                       work / "earlier" / host / "lbaudit.snapshot.json")
    earlier = run_cli("fleet", "evaluate", "--snapshots", work / "earlier", "--policy", REPO / "policies" / "corp.yaml",
                      "--out-dir", work / "out", "-q")
    assert earlier.returncode in (0, 1, 3), earlier.stderr
    assert [r["error"] for r in _rows(work).values()] == [None, None]
    inventory = [f"broken01 ansible_connection=local {_target(work, 'broken01', 'exit 1')}",
                 # an SSH host whose connection fails: its ProxyCommand exits at once
                 f"unreachable01 {_ssh_host(work).replace(f'{SSHD} -i -f', '/bin/false')} "
                 f"{_target(work, 'unreachable01', _answering())}"]
    played, took = _play(work, inventory)
    assert played is not None, f"the play was still running after {took:.0f} s"
    assert "UNREACHABLE!" in played.stdout and "fatal: [broken01]: FAILED!" in played.stdout
    # the controller's play ran: fleet evaluate's exit 2 (hosts not scanned) is what fails the play
    assert "TASK [Run lbaudit fleet evaluate]" in played.stdout
    assert played.returncode == 2, played.stdout[-4000:]
    rows = _rows(work)
    assert sorted(rows) == ["broken01", "unreachable01"]
    for host, row in rows.items():
        assert row["exit_code"] == 2 and row["verdict"] is None and row["evidence"] is None
        assert row["error"] == (f"host {host!r} is expected (--expect-hosts) but no snapshot of it was found "
                                f"under {work / 'fetch'}: it was not scanned in this run")
    assert json.loads((work / "out" / "fleet-summary.json").read_text())["exit_code"] == 2


NOBODY = 65534


def test_a_snapshot_directory_another_user_owns_is_not_collected_into(work: Path):
    # /var/tmp/lbaudit made first by a local user (sticky /var/tmp lets anyone): the role's chmod 0700
    # leaves it theirs, so they could replace the snapshot between its collection and its fetch
    snap = work / "targets" / "shared01" / "snap"
    inventory = [f"good01 ansible_connection=local {_target(work, 'good01', _answering())}",
                 f"shared01 ansible_connection=local {_target(work, 'shared01', _answering())}"]
    snap.mkdir(mode=0o777)
    os.chown(snap, NOBODY, NOBODY)
    played, took = _play(work, inventory)
    assert played is not None, f"the play was still running after {took:.0f} s"
    (failed,) = [line for line in played.stdout.splitlines() if line.startswith("fatal: [shared01]")]
    assert (f"{snap}: the snapshot directory is owned by uid {NOBODY}, not by the user collecting (uid 0): "
            "that user could replace the snapshot before it is fetched") in failed
    assert list(snap.iterdir()) == []  # nothing written there
    assert played.returncode == 2, played.stdout[-4000:]
    rows = _rows(work)
    assert rows["good01"]["error"] is None
    assert rows["shared01"]["exit_code"] == 2 and "it was not scanned in this run" in rows["shared01"]["error"]


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
def test_the_collect_module_refuses_a_directory_others_can_write(work: Path, mode: int):
    directory = work / "shared"
    directory.mkdir()
    directory.chmod(mode)
    output = directory / "host.snapshot.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(work / "collections"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_LOCAL_TEMP": str(work / "ansible-local"), "PYTHONPATH": str(REPO)})
    done = subprocess.run([_tool("ansible") or "ansible", "localhost", "-c", "local", "-m",
                           "lbaudit.compliance.lbaudit_collect", "-a", f"output={output}", "-e",
                           f"ansible_python_interpreter={sys.executable}"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-2000:]
    assert (f"{directory}: the snapshot directory can be written by users other than its owner "
            f"(mode {mode & 0o7777:04o}): one of them could replace the snapshot before it is fetched") in done.stdout
    assert not output.exists()


@pytest.mark.parametrize("limit", ["@retry", "good01,broken01", "all"])
def test_a_play_narrowed_by_limit_still_evaluates_the_fleet_and_fails_a_host_not_scanned(work: Path, limit: str):
    # --limit narrows every play: the controller's own play (hosts: localhost) was then skipped,
    # "no hosts matched", and the play ended 0 with no fleet evaluated; --limit @retry_file (what
    # Ansible's retry files are for) also left the expected hosts empty
    (work / "retry").write_text("good01\nbroken01\n")
    inventory = [f"good01 ansible_connection=local {_target(work, 'good01', _answering())}",
                 f"broken01 ansible_connection=local {_target(work, 'broken01', 'exit 1')}",
                 f"other01 ansible_connection=local {_target(work, 'other01', _answering())}"]
    played, took = _play(work, inventory, "--limit", f"@{work / 'retry'}" if limit == "@retry" else limit)
    assert played is not None, f"the play was still running after {took:.0f} s"
    assert "skipping: no hosts matched" not in played.stdout
    assert played.returncode == 2, played.stdout[-4000:]
    rows = _rows(work)
    assert sorted(rows) == (["broken01", "good01", "other01"] if limit == "all" else ["broken01", "good01"])
    assert rows["good01"]["error"] is None and rows["good01"]["verdict"] is not None
    assert rows["broken01"]["error"] == (f"host 'broken01' is expected (--expect-hosts) but no snapshot of it was "
                                         f"found under {work / 'fetch'}: it was not scanned in this run")
