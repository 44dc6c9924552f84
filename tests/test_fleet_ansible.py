"""The Ansible collection for real: ``ansible-playbook lbaudit.compliance.scan`` against hosts that
are network namespaces of this machine, each reached over SSH (an ``sshd -i`` started inside the
namespace by the ProxyCommand: no network traffic), plus one ``ansible_connection=local`` host.

Each namespace has its own listeners and sysctls: ``ns-small`` a loopback listener and a small
ephemeral port range, ``ns-wild`` a wildcard listener.  The playbook is the README's command line
(read from the README), run three times: the second run records a second run per host with no
drift; before the third one sysctl changes in one namespace, and that host (only) drifts.

Skipped with the reason when not root or when ``ip``, ``sshd``, ``ssh`` or ``ansible-playbook``
is missing; under CI=true those are installed (scripts/bootstrap --test), so it must run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import REPO, run_cli

pytestmark = [pytest.mark.live, pytest.mark.root, pytest.mark.integration]

SSHD = "/usr/sbin/sshd"
BIN = Path(sys.executable).parent
LISTENER = ("import signal, socket, sys\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
            "s.bind((sys.argv[1], int(sys.argv[2])))\n"
            "s.listen()\n"
            "signal.pause()\n")


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (ip netns add, sshd)"
    for tool, path in (("ip", shutil.which("ip")), ("sshd", SSHD if os.access(SSHD, os.X_OK) else None),
                       ("ssh", shutil.which("ssh")), ("ssh-keygen", shutil.which("ssh-keygen")),
                       ("ansible-playbook", _tool("ansible-playbook")), ("ansible-galaxy", _tool("ansible-galaxy"))):
        if path is None:
            return f"{tool} is not installed (scripts/bootstrap --test installs openssh-server and ansible-core)"
    return None


def _tool(name: str) -> str | None:
    beside = BIN / name
    return str(beside) if beside.exists() else shutil.which(name)


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)


def readme_fleet_commands() -> list[list[str]]:
    """The commands of the README's fleet section (the fenced block after its marker)."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"<!-- fleet-commands -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "README: the fleet section's command block (<!-- fleet-commands -->) is missing"
    lines = block.group(1).replace("\\\n", " ").splitlines()
    return [shlex.split(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


class Namespaces:
    """Network namespaces of this test, the listeners started in them, removed at the end."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.names: list[str] = []
        self.processes: list[subprocess.Popen] = []

    def add(self, short: str, sysctls: dict[str, str], listeners: list[tuple[str, int]]) -> str:
        name = f"{self.prefix}-{short}"
        assert _run(["ip", "netns", "add", name]).returncode == 0
        self.names.append(name)
        assert _run(["ip", "-n", name, "link", "set", "lo", "up"]).returncode == 0
        for key, value in sysctls.items():
            self.sysctl(name, key, value)
        for address, port in listeners:
            process = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", LISTENER, address,
                                        str(port)])
            self.processes.append(process)
        return name

    @staticmethod
    def sysctl(name: str, key: str, value: str) -> None:
        done = _run(["ip", "netns", "exec", name, "sysctl", "-q", "-w", f"{key}={value}"])
        assert done.returncode == 0, done.stderr

    def close(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)
        for name in self.names:
            _run(["ip", "netns", "del", name])


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    reason = _missing()
    if reason:
        if _ci():
            pytest.fail(f"CI=true: the fleet integration test must run, but {reason}")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("fleet-ansible")
    work.chmod(0o700)
    ssh = work / "ssh"
    ssh.mkdir(mode=0o700)
    for key in ("hostkey", "client"):
        assert _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / key)]).returncode == 0
    shutil.copy(ssh / "client.pub", ssh / "authorized_keys")
    config = ssh / "sshd_config"
    config.write_text(f"HostKey {ssh / 'hostkey'}\nAuthorizedKeysFile {ssh / 'authorized_keys'}\n"
                      "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                      "UsePAM no\nStrictModes no\nPidFile none\nSubsystem sftp internal-sftp\nLogLevel ERROR\n")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    namespaces = Namespaces(f"lbf{os.getpid()}")
    try:
        small = namespaces.add("small", {"net.ipv4.ip_local_port_range": "60000 60100"}, [("127.0.0.1", 5432)])
        wild = namespaces.add("wild", {}, [("0.0.0.0", 8080), ("127.0.0.1", 9000)])
        hosts = work / "hosts"
        lines = ["[lbaudit_targets]"]
        for inventory_name, ns in (("ns-small", small), ("ns-wild", wild)):
            proxy = f"ip netns exec {ns} {SSHD} -i -f {config}"
            lines.append(
                f"{inventory_name} ansible_host={ns} ansible_user=root ansible_ssh_private_key_file={ssh / 'client'} "
                f"ansible_ssh_common_args='-o ProxyCommand=\"{proxy}\" -o UserKnownHostsFile=/dev/null' "
                f"ansible_python_interpreter=/usr/bin/python3 "
                f"lbaudit_venv={hosts / inventory_name / 'venv'} lbaudit_snapshot_dir={hosts / inventory_name / 'snap'}")
        lines.append(f"controller-local ansible_connection=local ansible_python_interpreter=/usr/bin/python3 "
                     f"lbaudit_venv={hosts / 'local' / 'venv'} lbaudit_snapshot_dir={hosts / 'local' / 'snap'}")
        (work / "inventory.ini").write_text("\n".join(lines) + "\n")
        (work / "policies").symlink_to(REPO / "policies")
        assert run_cli("keygen", "--out", work / "keys").returncode == 0
        yield work, namespaces, {"ns-small": small, "ns-wild": wild}
    finally:
        _close_masters(work)
        namespaces.close()


def _close_masters(work: Path) -> None:
    """End the SSH connection masters of the plays (and with them each namespace's sshd -i)."""
    for socket_path in (work / "cp").glob("*") if (work / "cp").is_dir() else ():
        _run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "lbaudit-test-host"], timeout=30)


def _environment(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({
        "PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}",
        "ANSIBLE_COLLECTIONS_PATH": str(work / "collections"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        # one connection (one sshd -i) per host for a whole play, closed at the end (_close_masters)
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(work / "cp"),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-local"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    })
    return env


def _play(work: Path, round_: int) -> subprocess.CompletedProcess:
    """The README's commands, from ``work`` (for $PWD), the repository as the lbaudit source; the
    controller runs this checkout's lbaudit (the tests' interpreter) instead of an installed one."""
    env = _environment(work)
    done = None
    for argv in readme_fleet_commands():
        argv = [a.replace("$PWD", str(work)) for a in argv]
        if argv[0] == "ansible-galaxy" and argv[1:3] == ["collection", "build"]:
            argv = [a if a != "ansible/" else str(REPO / "ansible") for a in argv] + ["--force", "--output-path",
                                                                                       str(work)]
            if round_ > 1:
                continue
        elif argv[0] == "ansible-galaxy":
            if round_ > 1:
                continue
            argv += ["-p", str(work / "collections"), "--force"]
        elif argv[0] == "ansible-playbook":
            argv += ["-e", f"lbaudit_source={REPO}",
                     "-e", json.dumps({"lbaudit_controller_command": [sys.executable, "-m", "auditor.cli"],
                                       "lbaudit_controller_environment": {"PYTHONPATH": str(REPO)}})]
        argv[0] = _tool(argv[0]) or argv[0]
        done = _run(argv, cwd=work, env=env, timeout=900)
        assert done.returncode == 0, f"{argv}\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    assert done is not None
    return done


def _summary(work: Path) -> dict:
    return {h["host"]: h for h in json.loads((work / "fleet-out" / "fleet-summary.json").read_text())["hosts"]}


def _own(subject: str) -> bool:
    """A finding about the host's own namespace, not one of the neighbours it also sees."""
    return " in netns " not in subject and " in container " not in subject


def _own_failures(row: dict) -> set[tuple[str, str]]:
    evidence = json.loads(Path(row["evidence"]).read_text())
    return {(f["rule_id"], f["subject"]) for f in evidence["result"]["findings"]
            if f["status"] == "fail" and _own(f["subject"])}


def _own_regressions(diff_json: str) -> list[dict]:
    return [c for c in json.loads(diff_json)["regressions"] if _own(c["subject"])]


def _listening(snapshot: dict) -> set[tuple[str, int]]:
    return {(l["address"], l["port"]) for l in snapshot["facts"]["sockets"]["listeners"]}


def test_playbook_scans_namespaces_over_ssh_and_evaluates_on_the_controller(estate):
    work, namespaces, ns = estate
    first = _play(work, 1)
    assert "fleet: 3 hosts" in first.stdout
    fetched = {h: json.loads((work / "fleet-fetched" / h / "lbaudit.snapshot.json").read_text())
               for h in ("ns-small", "ns-wild", "controller-local")}
    # each snapshot from its own namespace: its own listeners and its own sysctls
    assert (("127.0.0.1", 5432) in _listening(fetched["ns-small"])) and \
        not ({("0.0.0.0", 8080), ("127.0.0.1", 9000)} & _listening(fetched["ns-small"]))
    assert {("0.0.0.0", 8080), ("127.0.0.1", 9000)} <= _listening(fetched["ns-wild"])
    assert ("127.0.0.1", 5432) not in _listening(fetched["ns-wild"])
    assert fetched["ns-small"]["facts"]["sysctl"]["runtime"]["net.ipv4.ip_local_port_range"]["value"] == "60000 60100"
    assert fetched["ns-wild"]["facts"]["sysctl"]["runtime"]["net.ipv4.ip_local_port_range"]["value"] != "60000 60100"
    # the verdicts: per host, what a separate evaluate of its fetched snapshot gives.  Collection sees
    # every namespace of the machine (the netns section, as root), so each host's evidence also judges
    # its neighbours' listeners, on findings named "... in netns N": the host's own are the others.
    summary = _summary(work)
    assert sorted(summary) == ["controller-local", "ns-small", "ns-wild"]
    small, wild = _own_failures(summary["ns-small"]), _own_failures(summary["ns-wild"])
    assert any(rule == "listeners-loopback-only" and subject.startswith("tcp 0.0.0.0:8080") for rule, subject in wild)
    assert not any(rule == "listeners-loopback-only" for rule, _ in small)
    assert "ephemeral-pool" in {rule for rule, _ in small}
    assert "ephemeral-pool" not in {rule for rule, _ in wild}
    for host, row in summary.items():
        alone = run_cli("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--snapshot",
                        work / "fleet-fetched" / host / "lbaudit.snapshot.json", "-o", work / f"{host}.alone.json", "-q")
        assert row["exit_code"] == alone.returncode and row["signed"] and row["error"] is None
        assert run_cli("verify", row["evidence"], "--pubkey", work / "keys" / "lbaudit.pub").returncode == 0
    junit = (work / "fleet-out" / "fleet.junit.xml").read_text()
    assert junit.count("<testsuite ") == 3
    # the HTML fleet overview beside them: a row per inventory host, linking to that host's evidence
    from tests.html_dom import Page

    page = Page((work / "fleet-out" / "fleet-summary.html").read_text(encoding="utf-8"))
    rows = {e.words: None for e in page.elements if e.tag == "td" and "host" in e.attrs.get("class", "").split()}
    assert list(rows) == sorted(summary)
    assert [e.attrs["href"] for e in page.tags("a") if not e.attrs["href"].startswith("#")] == \
        [f"./{host}.evidence.json" for host in sorted(summary)]


def _runs(work: Path, host: str) -> list[dict]:
    from auditor.history import open_store

    with open_store(str(work / "fleet-history.db")) as store:
        return store.list_runs(host=host)


def _history_diff(work: Path, host: str):
    return run_cli("history", "diff", "--host", host, "--store", work / "fleet-history.db", "--json")


def test_second_run_records_again_without_drift_and_a_changed_sysctl_drifts(estate):
    work, namespaces, ns = estate
    if not (work / "fleet-history.db").exists():
        _play(work, 1)
    _play(work, 2)
    for host in ("ns-small", "ns-wild", "controller-local"):
        runs = _runs(work, host)
        assert len(runs) == 2 and {r["trigger"] for r in runs} == {"fleet"}
        assert {r["host"]["inventory_name"] for r in runs} == {host}
        assert all(r["signature"]["state"] == "signed" for r in runs)
    # the namespaces did not change between the runs: no drift of their own (the neighbours each
    # also sees include this shared machine's namespace, which other tests change, and the
    # controller's own sockets are that namespace's: neither is asserted on)
    for host in ("ns-small", "ns-wild"):
        diff = _history_diff(work, host)
        assert diff.returncode in (0, 1), diff.stdout + diff.stderr
        assert _own_regressions(diff.stdout) == []
    report = run_cli("fleet", "report", "--store", work / "fleet-history.db", "--json")
    data = json.loads(report.stdout)
    assert data["hosts_total"] == 3
    assert {r["rule"] for r in data["rules_failing_on_most_hosts"]} >= {"listeners-loopback-only", "ephemeral-pool"}

    # one sysctl changes in one namespace: that host (only) drifts
    namespaces.sysctl(ns["ns-wild"], "net.ipv4.ip_local_port_range", "61000 61050")
    _play(work, 3)
    assert len(_runs(work, "ns-wild")) == 3
    drift = _history_diff(work, "ns-wild")
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert any(c["rule"] == "ephemeral-pool" for c in _own_regressions(drift.stdout))
    # ns-small sees the change only as its neighbour's ("... in netns"), never as its own
    assert _own_regressions(_history_diff(work, "ns-small").stdout) == []
    report = run_cli("fleet", "report", "--store", work / "fleet-history.db", "--json")
    regressed = {r["host"]: [c for c in r["regressions"] if _own(c["subject"])]
                 for r in json.loads(report.stdout)["regressed_since_previous_run"]}
    assert any(c["rule"] == "ephemeral-pool" for c in regressed["ns-wild"])
    assert regressed.get("ns-small", []) == []
    assert report.returncode == 1


def test_schedule_role_installs_the_scheduled_scan(estate):
    """The role ``schedule`` on the local host, written into an image root (cron backend), so this
    machine's /etc is not touched; the cron line names the venv's lbaudit."""
    work, _, _ = estate
    if not (work / "collections").is_dir():
        _play(work, 1)
    root = work / "image"
    for directory in ("etc/cron.d", "var/lib/lbaudit", "etc/lbaudit", "usr/bin"):
        (root / directory).mkdir(parents=True)
    flock = shutil.which("flock")
    if flock is None:
        pytest.skip("flock (util-linux) is not installed: the cron job needs it")
    shutil.copy(flock, root / "usr" / "bin" / "flock")  # the cron line runs the image's flock
    (root / "etc" / "lbaudit" / "policy.yaml").write_text((REPO / "policies" / "corp.yaml").read_text())
    playbook = work / "schedule.yml"
    playbook.write_text("- hosts: controller-local\n  gather_facts: false\n  roles:\n"
                        "    - role: lbaudit.compliance.schedule\n")
    extra = {"lbaudit_schedule_backend": "cron",
             "lbaudit_schedule_extra_args": ["--root", str(root), "--policy", "/etc/lbaudit/policy.yaml"]}
    done = _run([_tool("ansible-playbook") or "ansible-playbook", "-i", str(work / "inventory.ini"), str(playbook),
                 "-e", json.dumps(extra)], cwd=work, env=_environment(work), timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    cron = (root / "etc" / "cron.d" / "lbaudit").read_text()
    assert str(work / "hosts" / "local" / "venv" / "bin" / "lbaudit") in cron
    assert "/etc/lbaudit/policy.yaml" in cron and "--record" in cron
