"""The systemd units and the cron file: golden files, the one scheduled command line, and systemd's
own judgement of the units (``systemd-analyze verify`` and ``security --offline=true``)."""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
from pathlib import Path

import pytest

from auditor import schedule as sched
from tests.cli import run_cli
from tests.report.conftest import check_golden
from tests.schedule.conftest import POLICY, lbaudit_executable, subprocess_env, systemd_analyze

GOLDEN_CONFIG = sched.ScheduleConfig(
    executable="/usr/local/bin/lbaudit",
    policy=POLICY,
    sign_key="/etc/lbaudit/lbaudit.key",
    textfile_dir="/var/lib/prometheus/node-exporter",
)
EXPOSURE_LIMIT = 5.0


def test_service_golden():
    check_golden("schedule/lbaudit-scan.service", sched.render_service(GOLDEN_CONFIG).encode())


def test_timer_golden():
    check_golden("schedule/lbaudit-scan.timer", sched.render_timer(GOLDEN_CONFIG).encode())


def test_cron_golden():
    check_golden("schedule/lbaudit.cron", sched.render_cron(GOLDEN_CONFIG, "/usr/bin/flock").encode())


def _exec_start(service: str) -> list[str]:
    (line,) = [line for line in service.splitlines() if line.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))  # the golden config's words need no systemd quoting


def cron_jobs(text: str) -> list[tuple[list[str], str, str]]:
    """``(time fields, user, command)`` of each job line of a cron.d file, as cron reads it."""
    jobs = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", line):
            continue
        fields = line.split(None, 6)
        assert len(fields) == 7, f"not a cron.d job line (5 time fields, user, command): {line!r}"
        jobs.append((fields[:5], fields[5], fields[6]))
    return jobs


def test_every_scheduled_run_is_recorded_with_its_trigger():
    """Both backends run scheduled_command: --record --trigger timer|cron, the store, the key, the textfile dir."""
    config = sched.ScheduleConfig(**{**GOLDEN_CONFIG.__dict__, "store": "postgresql+psycopg://scan@db/lbaudit"})
    timer_argv = sched.scheduled_command(config, "timer")
    assert timer_argv[timer_argv.index("--record"):] == ["--record", "--trigger", "timer",
                                                         "--store", "postgresql+psycopg://scan@db/lbaudit"]
    assert timer_argv[:3] == ["/usr/local/bin/lbaudit", "evaluate", "--policy"]
    assert _exec_start(sched.render_service(config)) == timer_argv
    ((_, user, command),) = cron_jobs(sched.render_cron(config, "/usr/bin/flock"))
    assert user == "root"
    assert shlex.split(command) == ["umask", "077", "&&", "/usr/bin/flock", "-n", "-E", "75", "/run/lbaudit-scan.lock",
                                    *sched.scheduled_command(config, "cron")]
    assert "--trigger" in shlex.split(command) and shlex.split(command)[-3:-2] == ["cron"]
    assert "--sign-key" in timer_argv and "--textfile-dir" in timer_argv
    without = sched.scheduled_command(config, "timer", record=False)
    assert "--record" not in without and "--trigger" not in without and "--store" not in without
    assert timer_argv[:len(without)] == without


def test_cron_file_sets_path_and_has_one_line_per_job_without_continuations():
    text = sched.render_cron(GOLDEN_CONFIG, "/usr/bin/flock")
    assert not any(line.endswith("\\") for line in text.splitlines())
    assert f"PATH={sched.CRON_PATH}" in text.splitlines() and "SHELL=/bin/sh" in text.splitlines()
    ((times, _, command),) = cron_jobs(text)
    assert times == ["30", "2", "*", "*", "*"]
    # the umask of the lock file flock makes (0600: no other user can open it to hold the lock), then
    # the scan under flock, and nothing after the scan to hide its exit code
    umask, scan = command.split(" && ", 1)
    assert umask == f"umask {sched.CRON_UMASK}" and sched.CRON_UMASK == "077"
    assert ";" not in scan and "&&" not in scan and "||" not in scan
    assert scan.split()[0].startswith("/") and shlex.split(scan)[5].startswith("/")  # flock and lbaudit absolute


@pytest.mark.parametrize("value, fields", [("hourly", "0 * * * *"), ("weekly", "30 2 * * 1"),
                                           ("15 4 * * 1-5", "15 4 * * 1-5")])
def test_cron_schedules(value, fields):
    assert sched.cron_schedule(value) == fields


def test_special_characters_are_quoted_for_cron_and_systemd():
    assert sched.cron_word("/srv/a b%c/p.yaml") == "'/srv/a b\\%c/p.yaml'"
    assert sched.systemd_word("/srv/a b%c$d/p.yaml") == '"/srv/a b%%c$$d/p.yaml"'
    assert sched.systemd_word("/etc/lbaudit/corp.yaml") == "/etc/lbaudit/corp.yaml"


def _install_systemd(root: Path, *extra: str) -> Path:
    (root / "var/lib/prometheus/node-exporter").mkdir(parents=True)
    assert run_cli("keygen", "--out", root / "etc/lbaudit").returncode == 0
    result = run_cli("schedule", "install", "--backend", "systemd", "--policy", POLICY, "--root", root,
                     "--executable", lbaudit_executable(), "--sign-key", "/etc/lbaudit/lbaudit.key",
                     "--textfile-dir", "/var/lib/prometheus/node-exporter", *extra)
    assert result.returncode == 0, result.stderr
    return root / "etc/systemd/system"


@pytest.mark.live  # systemd-analyze reads this host's unit directories
@pytest.mark.integration  # runs systemd-analyze
def test_installed_units_pass_systemd_analyze_verify(image_root):
    units = _install_systemd(image_root)
    run = subprocess.run([systemd_analyze(), "verify", units / sched.SERVICE, units / sched.TIMER],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    # verify only warns about an unknown or malformed directive: any line about our units is a failure
    assert "lbaudit-scan" not in run.stderr, run.stderr


def _exposure(service: Path) -> tuple[float, list[dict]]:
    analyze = systemd_analyze()
    text = subprocess.run([analyze, "security", "--offline=true", service], capture_output=True, text=True,
                          timeout=60)
    assert text.returncode == 0, text.stderr
    match = re.search(r"Overall exposure level for lbaudit-scan\.service: (\d+\.\d)", text.stdout)
    assert match, text.stdout
    # --threshold is in tenths: the command itself fails above 5.0
    limit = subprocess.run([analyze, "security", "--offline=true", f"--threshold={int(EXPOSURE_LIMIT * 10)}",
                            service], capture_output=True, text=True, timeout=60)
    assert limit.returncode == 0, limit.stdout[-400:]
    rows = json.loads(subprocess.run([analyze, "security", "--offline=true", "--json=short", service],
                                     capture_output=True, text=True, timeout=60, check=True).stdout)
    return float(match.group(1)), rows


@pytest.mark.live
@pytest.mark.integration  # runs systemd-analyze security
@pytest.mark.parametrize("store", [None, "postgresql+psycopg://scan@db.example.test/lbaudit"])
def test_installed_service_exposure_is_at_most_5(image_root, store):
    units = _install_systemd(image_root, *(["--store", store] if store else []))
    score, rows = _exposure(units / sched.SERVICE)
    assert score <= EXPOSURE_LIMIT
    settings = {row["name"]: row["set"] for row in rows}
    for directive in ("NoNewPrivileges=", "PrivateTmp=", "ProtectSystem=", "PrivateDevices=",
                      "ProtectKernelTunables=", "RestrictAddressFamilies=~AF_PACKET",
                      "SystemCallFilter=~@module", "SystemCallFilter=~@mount", "SystemCallFilter=~@reboot",
                      "SystemCallFilter=~@raw-io", "SystemCallFilter=~@clock", "MemoryDenyWriteExecute=",
                      "RestrictNamespaces=~user"):
        assert settings[directive] is True, directive
    # @privileged and @debug are denied but for what collection calls (sched.COLLECTOR_SYSCALLS: bpf
    # for sk_lookup links, pidfd_getfd to ask a vsock or tun holder): denied, every scan had gaps
    assert settings["SystemCallFilter=~@privileged"] is False and settings["SystemCallFilter=~@debug"] is False
    # what it cannot take (README, "Scheduled scans"): root, the host's network, ptrace for /proc/PID/fd
    # and CAP_SYS_ADMIN to enter the other network namespaces, CAP_NET_ADMIN to read the NAT rules
    for directive in ("User=/DynamicUser=", "PrivateNetwork=", "CapabilityBoundingSet=~CAP_SYS_PTRACE",
                      "CapabilityBoundingSet=~CAP_SYS_ADMIN", "CapabilityBoundingSet=~CAP_NET_ADMIN"):
        assert settings[directive] is False, directive
    assert settings["IPAddressDeny="] is (store is None)  # a PostgreSQL store needs the network


def test_writable_paths_outside_the_state_directory():
    config = sched.ScheduleConfig(executable="/usr/bin/lbaudit", policy=POLICY, out_dir="/srv/evidence",
                                  textfile_dir="/var/lib/prometheus/node-exporter", store="/srv/history/h.db")
    service = sched.render_service(config)
    assert [line for line in service.splitlines() if line.startswith("ReadWritePaths=")] == [
        "ReadWritePaths=/srv/evidence", "ReadWritePaths=/var/lib/prometheus/node-exporter",
        "ReadWritePaths=/srv/history"]
    inside = sched.ScheduleConfig(executable="/usr/bin/lbaudit", policy=POLICY, store="sqlite:////var/lib/lbaudit/h.db")
    assert "ReadWritePaths=" not in sched.render_service(inside)


@pytest.mark.live
@pytest.mark.integration  # runs systemd-analyze verify
def test_systemd_reads_a_quoted_executable_path_back(image_root, tmp_path):
    """A path with a space and a % (a specifier to systemd, were it not doubled): verify finds the
    executable only if ExecStart= is quoted the way systemd unquotes it."""
    odd = tmp_path / "bin 100%dir"
    odd.mkdir()
    (odd / "lbaudit").symlink_to(lbaudit_executable())
    result = run_cli("schedule", "install", "--backend", "systemd", "--policy", POLICY, "--root", image_root,
                     "--executable", odd / "lbaudit")
    assert result.returncode == 0, result.stderr
    service = image_root / "etc/systemd/system" / sched.SERVICE
    assert f'ExecStart="{tmp_path}/bin 100%%dir/lbaudit" evaluate' in service.read_text()
    run = subprocess.run([systemd_analyze(), "verify", service], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "lbaudit" not in run.stderr, run.stderr
    (odd / "lbaudit").unlink()  # and verify does notice a missing one, so the check above means something
    run = subprocess.run([systemd_analyze(), "verify", service], capture_output=True, text=True, timeout=60)
    assert "is not executable" in run.stderr and "100%dir/lbaudit" in run.stderr


@pytest.mark.slow  # the unit's ExecStart= as a real process
@pytest.mark.live
@pytest.mark.root
def test_the_exec_start_command_runs(image_root, tmp_path):
    """The service's ExecStart= argv, run as systemd would exec it (no shell): its exit code is the
    evidence's, and the run is recorded in the store the unit names."""
    from tests.schedule.test_cron_run import FAILING_POLICY

    policy, out_dir, store = tmp_path / "policy.yaml", tmp_path / "out", tmp_path / "history.db"
    for base in (Path("/"), image_root):
        (base / str(tmp_path).lstrip("/")).mkdir(parents=True, exist_ok=True)
        (base / str(policy).lstrip("/")).write_text(FAILING_POLICY, encoding="utf-8")
        (base / str(out_dir).lstrip("/")).mkdir(exist_ok=True)
    result = run_cli("schedule", "install", "--backend", "systemd", "--policy", policy, "--out-dir", out_dir,
                     "--root", image_root, "--store", store, "--executable", lbaudit_executable())
    assert result.returncode == 0, result.stderr
    argv = _exec_start((image_root / "etc/systemd/system" / sched.SERVICE).read_text())
    assert argv[argv.index("--record"):] == ["--record", "--trigger", "timer", "--store", str(store)]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        run = subprocess.run(argv, cwd="/", env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    evidence = json.loads((out_dir / "cron-test.evidence.json").read_text(encoding="utf-8"))
    assert evidence["result"]["exit_code"] == 1
