"""Hostile corpus, reading side: what lbaudit reads from an image, a /proc root or a program must
never pass unseen, hang or crash.

* A configuration directory (``/etc/audit/rules.d``, ``/etc/sysctl.d``, ``/etc/systemd/system``)
  that is absent only because a symbolic link on its way leads nowhere is not proof of absence: in an
  image it may be a mount the image does not carry.  Before, it read as an empty directory, and
  audit.rules, the other sysctl.d files or "no socket units" passed.  Now: not_reviewed, naming the link.
* /proc/net numbers the kernel never prints (a sign, ``_``, ``0x``, Unicode digits, a port past 65535)
  are a gap naming the line; before, ``int()`` took them and the model's refusal of a negative port
  or uid came later as a crash.  Duplicate counter lines are ambiguous and refused.
* /proc/net tables, sockstat, snmp and /proc/sys values that are FIFOs or too large are a gap,
  without blocking; before, a plain ``open()`` blocked on a FIFO and ``read(64 KiB)`` judged a
  longer value cut short.
* A program whose output passes the bound fails, rather than having its output judged cut short.

Every case asserts the exact status, exit code or gap.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from auditor.collect.parsers.proc_net import parse_proc_net, parse_snmp, parse_sockstat
from auditor.collect.programs import MAX_OUTPUT_BYTES, run_command
from auditor.collect.sockets import read_established, read_optional_proc_net, read_sockets_proc_net, read_time_wait
from auditor.collect.sysctl import read_runtime_sysctls
from auditor.model.facts import GapKind
from auditor.text import MAX_QUOTED_NAME
from tests.cli import run_cli
from tests.factories import (
    BOOT_BACKLOG_RULES,
    ELF_X86_64,
    SOCKET_AUDIT_RULES,
    install_kernel_without_x32,
    install_procps_boot,
)

POLICY = """\
id: hostile-reads
version: "1"
owner: Security Engineering
rules:
  - id: listeners
    check: net.bind_addresses
    params: {allow: [loopback]}
  - id: time-wait
    check: net.time_wait
    params: {allowed_tw_reuse: [0, 2], min_max_tw_buckets: 65536, max_fin_timeout: 60}
  - id: socket-audit
    check: audit.socket_logging
"""
GOOD_RULES = SOCKET_AUDIT_RULES
# tcp_tw_reuse 0: an image's 2 is loopback-only reuse only on a kernel of 4.20 or later, and which kernel
# boots an image is not known (tests/hostile/test_pool21_tw_reuse_two_before_4_20.py)
NET_SYSCTLS = "net.ipv4.tcp_fin_timeout = 30\nnet.ipv4.tcp_tw_reuse = 0\nnet.ipv4.tcp_max_tw_buckets = 262144\n"
NOWHERE = "/persist/lbaudit-hostile-absent"


def image(tmp_path: Path) -> Path:
    """An image whose audit.rules covers the socket syscalls and whose sysctl.d sets passing values."""
    root = tmp_path / "image"
    (root / "etc" / "audit").mkdir(parents=True)
    (root / "etc" / "audit" / "audit.rules").write_text(BOOT_BACKLOG_RULES + GOOD_RULES)  # a compliant host sets -b
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)  # tells the image's machine
    install_kernel_without_x32(root)  # offline, x32 is read from the image's kernels
    install_procps_boot(root)  # what applies its sysctl.d at boot
    (root / "usr" / "lib" / "sysctl.d").mkdir(parents=True)
    (root / "usr" / "lib" / "sysctl.d" / "99-net.conf").write_text(NET_SYSCTLS)
    # no process may use io_uring after boot, so its socket operations need no io_uring audit rule
    (root / "usr" / "lib" / "sysctl.d" / "60-io_uring.conf").write_text("kernel.io_uring_disabled = 2\n")
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    return root


def evaluate_root(tmp_path: Path, root: Path) -> tuple[int, dict[str, dict]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    out = tmp_path / "evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--root", root, "--output", out, "-q", "--no-plugins", cwd=tmp_path)
    assert "Traceback" not in result.stderr and out.exists(), result.stderr
    findings = json.loads(out.read_text())["result"]["findings"]
    return result.returncode, {f["subject"]: f for f in findings}


# ---------------------------------------------------------------- links to nothing in an image


def test_control_case_the_image_passes_what_it_holds(tmp_path):
    code, found = evaluate_root(tmp_path, image(tmp_path))
    assert found["persistent rules b64"]["status"] == "pass"
    assert found["sysctl net.ipv4.tcp_fin_timeout"]["status"] == "pass"
    # no socket unit declares a listener: that proves nothing of the listeners its services open
    # (tests/hostile/test_targets_image_snapshots.py), so there is no "no listeners were found" pass
    assert "listeners" not in found
    assert found["listeners (collection)"]["status"] == "not_applicable"
    assert code == 0  # compliant: what each case below hides made it so before, too


def test_rules_d_linked_to_nothing_is_not_replaced_by_audit_rules(tmp_path):
    root = image(tmp_path)
    (root / "etc" / "audit" / "rules.d").symlink_to(NOWHERE)  # augenrules compiles it at boot, if mounted
    code, found = evaluate_root(tmp_path, root)
    assert code == 3
    for scope in ("persistent rules b64", "persistent rules b32"):
        assert found[scope]["status"] == "not_reviewed"
        assert found[scope]["reason"] == (f"/etc/audit/rules.d: not found, through a symbolic link to nothing "
                                          f"(/etc/audit/rules.d -> {NOWHERE}): whether the boot compiles its "
                                          "rules cannot be told")


def test_etc_sysctl_d_linked_to_nothing_leaves_the_vendor_values_unjudged(tmp_path):
    root = image(tmp_path)
    (root / "etc" / "sysctl.d").symlink_to(NOWHERE)  # highest precedence: it could override them all
    code, found = evaluate_root(tmp_path, root)
    assert code == 3
    for key in ("net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_max_tw_buckets"):
        assert found[f"sysctl {key}"]["status"] == "not_reviewed"
        assert (f"/etc/sysctl.d: not found, through a symbolic link to nothing (/etc/sysctl.d -> {NOWHERE})"
                in found[f"sysctl {key}"]["reason"])


def test_unit_directory_linked_to_nothing_is_no_proof_of_no_listener(tmp_path):
    root = image(tmp_path)
    (root / "etc" / "systemd" / "system").rmdir()
    (root / "etc" / "systemd" / "system").symlink_to(NOWHERE)
    code, found = evaluate_root(tmp_path, root)
    assert code == 3
    assert "listeners" not in found  # no "no listeners were found" pass
    assert found["listeners (collection)"]["status"] == "not_reviewed"
    assert (f"/etc/systemd/system: not found, through a symbolic link to nothing (/etc/systemd/system -> {NOWHERE})"
            in found["listeners (collection)"]["reason"])


def test_a_link_into_an_existing_directory_of_the_image_is_followed_not_refused(tmp_path):
    root = image(tmp_path)
    (root / "usr" / "lib" / "audit-rules").mkdir()
    (root / "usr" / "lib" / "audit-rules" / "10-net.rules").write_text(BOOT_BACKLOG_RULES + GOOD_RULES)
    (root / "etc" / "audit" / "rules.d").symlink_to("/usr/lib/audit-rules")
    (root / "lib").symlink_to("usr/lib")  # merged /usr: /lib/sysctl.d is the image's /usr/lib/sysctl.d
    code, found = evaluate_root(tmp_path, root)
    assert found["persistent rules b64"]["status"] == "pass"
    assert found["sysctl net.ipv4.tcp_fin_timeout"]["status"] == "pass"
    assert code == 0


# ---------------------------------------------------------------- /proc/net: numbers the kernel never prints

UDP_HEADER = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"


def udp_row(port: str = "14E9", uid: str = "0", state: str = "07", inode: str = "4242") -> str:
    return (f"  1: 00000000:{port} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000 {uid:>5}        0 "
            f"{inode} 2 0000000000000000 0\n")


def fake_proc(tmp_path: Path, files: dict[str, str], protocols: tuple[str, ...] = ("UDP-Lite",)) -> str:
    net = tmp_path / "proc" / "net"
    net.mkdir(parents=True)
    header = "protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re sp bi br ha uh gp em\n"
    (net / "protocols").write_text(header + "".join(f"{name:<10} 1 0 -1 NI 0 yes kernel\n" for name in protocols))
    (net / "if_inet6").write_text("")
    for name, text in files.items():
        (net / name).write_text(text)
    return str(tmp_path / "proc")


@pytest.mark.parametrize("field, value, message", [
    ("port", "-001", "line 2: port '-001' is not a hexadecimal number"),
    ("port", "1_0", "line 2: port '1_0' is not a hexadecimal number"),
    ("port", "FFFFF", "line 2: port 'FFFFF' is out of range (at most 0xffff)"),
    ("uid", "-5", "line 2: uid '-5' is not a non-negative decimal number"),
    ("uid", "\uff15", "line 2: uid '\ufffd\ufffd\ufffd' is not a non-negative decimal number"),  # ASCII, as printed
    ("uid", "4294967296", "line 2: uid '4294967296' is out of range (at most 4294967295)"),
    ("state", "0x7", "line 2: state '0x7' is not a hexadecimal number"),
    ("inode", "+4242", "line 2: inode '+4242' is not a non-negative decimal number"),
])
def test_an_optional_table_row_the_kernel_never_prints_is_a_gap_not_a_crash(tmp_path, field, value, message):
    proc = fake_proc(tmp_path, {"udplite": UDP_HEADER + udp_row(**{field: value}), "udplite6": UDP_HEADER})
    read = read_optional_proc_net(proc, why="test")
    assert read.rows == []
    udplite = [g for g in read.gaps if g.field == "listeners/udplite"]
    assert [g.kind for g in udplite] == [GapKind.UNREADABLE]
    assert udplite[0].reason == f"UDP-Lite listeners could not be read: test; {message}"


def test_a_core_table_row_the_kernel_never_prints_is_refused_naming_the_line(tmp_path):
    proc = fake_proc(tmp_path, {"tcp": UDP_HEADER + udp_row(port="-1"), "udp": UDP_HEADER, "tcp6": UDP_HEADER,
                                "udp6": UDP_HEADER})
    with pytest.raises(ValueError, match=r"^line 2: port '-1' is not a hexadecimal number$"):
        read_sockets_proc_net(proc)  # collect_sockets makes this the listeners' gap


@pytest.mark.parametrize("text, message", [
    ("TCP: inuse 1 orphan 0 tw -5 alloc 1 mem 1\n", "sockstat counts -5 TIME_WAIT sockets: a count is never negative"),
    ("TCP: inuse 1 tw 1_0\n", "line 1: tw '1_0' is not a decimal number"),
    ("TCP: inuse 1 tw 3\nTCP: inuse 1 tw 900\n", "line 2: a second 'TCP' line: which one counts cannot be told"),
])
def test_a_sockstat_the_kernel_never_writes_is_refused(tmp_path, text, message):
    proc = fake_proc(tmp_path, {"sockstat": text})
    with pytest.raises(ValueError) as refused:
        read_time_wait(proc)
    assert str(refused.value) == message


def test_snmp_with_two_tcp_pairs_is_refused_and_the_real_one_parses():
    head, values = "Tcp: RtoAlgorithm MaxConn CurrEstab", "Tcp: 1 -1 4"
    assert parse_snmp(f"{head}\n{values}\n")["Tcp"] == {"RtoAlgorithm": 1, "MaxConn": -1, "CurrEstab": 4}
    with pytest.raises(ValueError, match=r"^line 3: a second 'Tcp' pair: which one counts cannot be told$"):
        parse_snmp(f"{head}\n{values}\n{head}\nTcp: 1 -1 0\n")


@pytest.mark.live
def test_the_running_kernels_tables_still_parse():
    assert parse_sockstat(Path("/proc/net/sockstat").read_text())["TCP"]["tw"] >= 0
    parse_proc_net(Path("/proc/net/tcp").read_text())  # every row of a real table is accepted


# ---------------------------------------------------------------- FIFOs and oversize under a proc root


def _within(seconds: float, call):
    """``call()`` on a thread; fails (instead of hanging the suite) when it has not returned in time."""
    outcome: dict[str, object] = {}

    def target():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the read blocked"
    return outcome


@pytest.mark.parametrize("name, read", [("sockstat", read_time_wait), ("snmp", read_established)])
def test_a_fifo_as_a_counter_file_is_refused_without_blocking(tmp_path, name, read):
    proc = fake_proc(tmp_path, {})
    os.mkfifo(f"{proc}/net/{name}")
    outcome = _within(10, lambda: read(proc))
    assert isinstance(outcome.get("error"), OSError)
    assert "is a FIFO, not a regular file" in str(outcome["error"])


def test_a_fifo_as_a_socket_table_is_refused_without_blocking(tmp_path):
    proc = fake_proc(tmp_path, {"udplite6": UDP_HEADER})
    os.mkfifo(f"{proc}/net/udplite")
    outcome = _within(10, lambda: read_optional_proc_net(proc, why="test"))
    read = outcome["value"]
    udplite = [g for g in read.gaps if g.field == "listeners/udplite"]
    assert [g.kind for g in udplite] == [GapKind.UNREADABLE]
    assert "is a FIFO, not a regular file" in udplite[0].reason


def test_a_fifo_or_oversized_running_sysctl_is_a_gap_not_a_hang_or_a_cut_value(tmp_path):
    proc_sys = tmp_path / "sys"
    (proc_sys / "net" / "ipv4").mkdir(parents=True)
    os.mkfifo(proc_sys / "net" / "ipv4" / "tcp_fin_timeout")
    (proc_sys / "net" / "ipv4" / "tcp_tw_reuse").write_text("2" + " " * (64 * 1024) + "1\n")
    (proc_sys / "net" / "ipv4" / "tcp_max_tw_buckets").write_text("262144\n")
    keys = ("net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_max_tw_buckets")
    values, gaps = _within(10, lambda: read_runtime_sysctls(keys, str(proc_sys)))["value"]
    assert {k: v.value for k, v in values.items()} == {"net.ipv4.tcp_max_tw_buckets": "262144"}
    reasons = {g.field: g.reason for g in gaps}
    assert reasons == {
        "runtime/net.ipv4.tcp_fin_timeout": f"{proc_sys}/net/ipv4/tcp_fin_timeout: is a FIFO, not a regular file",
        "runtime/net.ipv4.tcp_tw_reuse": f"{proc_sys}/net/ipv4/tcp_tw_reuse: larger than 65536 bytes",
    }


# ---------------------------------------------------------------- program output past the bound


def test_program_output_past_the_bound_fails_rather_than_being_judged_cut_short():
    result = run_command(["head", "-c", str(MAX_OUTPUT_BYTES + 1), "/dev/zero"], timeout=60)
    assert not result.ok
    assert result.failure == (f"output of more than {MAX_OUTPUT_BYTES} bytes exceeds the {MAX_OUTPUT_BYTES} bytes "
                              "lbaudit reads; stopped, not read")
    assert result.stdout == ""
    exactly = run_command(["head", "-c", str(MAX_OUTPUT_BYTES), "/dev/zero"], timeout=60)
    assert exactly.ok and len(exactly.stdout) == MAX_OUTPUT_BYTES


# ---------------------------------------------------------------- a fleet whose snapshots cannot be seen


def _fleet(snapshots: Path, out: Path):
    return run_cli("fleet", "evaluate", "--snapshots", snapshots, "--policy", FLEET_POLICY, "--out-dir", out,
                   "--jobs", "1", timeout=120)


FLEET_POLICY = Path(__file__).resolve().parents[2] / "policies" / "corp.yaml"


@pytest.mark.parametrize("content", ["empty", "readme-only"])
def test_a_fleet_that_finds_no_host_is_exit_2_not_a_compliant_fleet_of_none(tmp_path, content):
    fetch = tmp_path / "fetch"
    fetch.mkdir()
    if content == "readme-only":
        (fetch / "README").write_text("ansible fetch failed\n")
    out = tmp_path / "out"
    result = _fleet(fetch, out)
    assert result.returncode == 2, result.stdout + result.stderr  # was "fleet: 0 hosts (none); exit 0"
    assert result.stderr.splitlines()[0] == (f"lbaudit: {fetch}: --snapshots: no host found (expected "
                                             "*.snapshot.json files, or one directory per host holding one)")
    assert not out.exists()  # nothing written


def test_a_recorded_fleet_that_finds_no_host_creates_no_history_store(tmp_path):
    fetch = tmp_path / "fetch"
    fetch.mkdir()
    store = tmp_path / "state" / "history.db"
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", FLEET_POLICY, "--out-dir", out,
                     "--jobs", "1", "--record", "--store", store, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--snapshots: no host found" in result.stderr.splitlines()[0]
    assert not out.exists() and not store.parent.exists()  # not even an empty store


def test_a_host_directory_linked_to_nothing_fails_that_host_instead_of_vanishing(tmp_path):
    from auditor.storage.snapshot import write_snapshot
    from tests.factories import listener, snapshot

    fetch = tmp_path / "fetch"
    (fetch / "good01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="good01"),
                   fetch / "good01" / "lbaudit.snapshot.json")
    (fetch / "web03").symlink_to(NOWHERE)
    out = tmp_path / "out"
    result = _fleet(fetch, out)
    assert result.returncode == 2, result.stdout + result.stderr
    hosts = {h["host"]: h for h in json.loads((out / "fleet-summary.json").read_text())["hosts"]}
    assert hosts["good01"]["exit_code"] == 3  # judged: the corp policy finds it incomplete
    assert hosts["web03"]["exit_code"] == 2
    assert hosts["web03"]["error"] == f"{fetch / 'web03'}: a symbolic link to nothing ({NOWHERE}): " \
                                      "the host's snapshot cannot be seen"


def test_a_fifo_given_as_snapshots_is_named_as_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "fetch")
    result = _fleet(tmp_path / "fetch", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (f"lbaudit: {tmp_path / 'fetch'}: --snapshots: is a FIFO, not a "
                                             "snapshot file or a directory of them")


# ---------------------------------------------------------------- captured bundles: what the OS reads, once

BUNDLES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "bundles"
CORP = Path(__file__).resolve().parents[2] / "policies" / "corp.yaml"
NETWORK_CLASS = ("socket-audit", "audit(4) network class")
HEADROOM_V4 = ("time-wait-headroom", "ephemeral pool headroom at the declared peak connection rate (tcp/ipv4 dynamic port range)")
EXCEPTION_POLICY = """\
id: hostile-bundle-owner
version: "1"
owner: Security Engineering
rules:
  - id: listeners
    check: net.bind_addresses
    params:
      allow: [loopback]
      exceptions:
        - match: {process: "backup.exe"}
          allow: [any]
          reason: backup agent
"""


def replay(tmp_path: Path, name: str, edit, policy: Path = CORP) -> tuple[int, dict]:
    import shutil

    directory = tmp_path / name
    shutil.copytree(BUNDLES / name, directory)
    edit(directory)
    out = tmp_path / "evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--target", f"replay:{directory}", "--output", out, "-q",
                     "--no-plugins", cwd=tmp_path, timeout=60)
    assert "Traceback" not in result.stderr and out.exists(), result.stderr
    findings = json.loads(out.read_text())["result"]["findings"]
    return result.returncode, {(f["rule_id"], f["subject"]): f for f in findings}


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_control_case_the_bundles_pass_what_they_hold(tmp_path):
    _, mac = replay(tmp_path / "mac", "macos-audited", lambda d: None)
    assert mac[NETWORK_CLASS]["status"] == "pass"
    _, win = replay(tmp_path / "win", "windows-audited", lambda d: None)
    assert win[HEADROOM_V4]["status"] == "pass"


def test_audit_control_second_flags_line_is_not_what_auditd_reads(tmp_path):
    # libbsm's getacflg returns the first flags: line; the second one never takes effect
    code, found = replay(tmp_path, "macos-audited",
                         lambda d: _replace(d / "audit_control", "flags:lo,aa,+nt", "flags:lo,aa\nflags:lo,aa,+nt"))
    assert code == 1
    assert found[NETWORK_CLASS]["status"] == "fail"  # was pass, judged on the line auditd never reads
    assert "flags:lo,aa does not audit successful network events (class nt)" in found[NETWORK_CLASS]["message"]


def test_audit_control_indented_flags_line_is_not_read_by_auditd(tmp_path):
    code, found = replay(tmp_path, "macos-audited",
                         lambda d: _replace(d / "audit_control", "flags:lo,aa,+nt", " flags:lo,aa,+nt"))
    assert code == 1
    assert found[NETWORK_CLASS]["status"] == "not_reviewed"
    assert found[NETWORK_CLASS]["reason"] == ("bundle file audit_control: not understood: no flags: line (a line "
                                              "starting exactly 'flags:', as auditd reads it)")


def test_macos_sysctl_printed_twice_is_not_judged_on_the_last_value(tmp_path):
    def edit(directory: Path) -> None:
        sysctl = directory / "sysctl.txt"
        sysctl.write_text("net.inet.tcp.msl: 90000\n" + sysctl.read_text())  # 180 s TIME_WAIT first, 30 s last
    code, found = replay(tmp_path, "macos-audited", edit)
    headroom = found[("time-wait-headroom", "ephemeral pool headroom at the declared peak connection rate")]
    assert headroom["status"] == "not_reviewed"  # was pass on the last value
    assert "net.inet.tcp.msl is printed a second time: which value holds cannot be told" in headroom["reason"]
    assert code == 1


def test_registry_value_name_in_another_case_is_the_same_value(tmp_path):
    code, found = replay(tmp_path, "windows-audited", lambda d: _replace(
        d / "tcpip-parameters.txt", "    TcpTimedWaitDelay    REG_DWORD    0x1e", "    TCPTIMEDWAITDELAY    REG_DWORD    0x12c"))
    assert code == 1
    # was pass on "not set, the Windows default 120 s applies"; Windows reads 300 s
    assert found[HEADROOM_V4]["status"] == "fail"
    assert "300 s TIME_WAIT (TcpTimedWaitDelay = 300 s (registry))" in found[HEADROOM_V4]["message"]


def test_registry_value_listed_twice_is_not_judged_on_the_last_one(tmp_path):
    code, found = replay(tmp_path, "windows-audited", lambda d: _replace(
        d / "tcpip-parameters.txt", "    TcpTimedWaitDelay    REG_DWORD    0x1e",
        "    TcpTimedWaitDelay    REG_DWORD    0x12c\n    tcptimedwaitdelay    REG_DWORD    0x1e"))
    assert code == 1
    assert found[HEADROOM_V4]["status"] == "not_reviewed"
    assert ("line 17: the value 'tcptimedwaitdelay' is listed a second time (registry value names are "
            "case-insensitive): which one holds cannot be told") in found[HEADROOM_V4]["reason"]


def test_a_pid_listed_twice_in_tasklist_names_no_owner_for_an_exception(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(EXCEPTION_POLICY)

    def edit(directory: Path) -> None:
        tasklist = directory / "tasklist.csv"
        tasklist.write_text(tasklist.read_text() + '"backup.exe","1096","Services","0","1,000 K"\n')
    code, found = replay(tmp_path, "windows-audited", edit, policy)
    wildcard = found[("listeners", "tcp 0.0.0.0:3389 ? pid 1096")]
    assert wildcard["status"] == "not_reviewed"  # was pass: the exception matched the last name listed
    assert "tasklist.csv: rows not understood: row 10: PID 1096 is listed a second time" in wildcard["reason"]
    assert code == 1


# ---------------------------------------------------------------- configuration files and YAML keys

LONG = "/" + "a" * 5000  # longer than PATH_MAX: stat() fails with ENAMETOOLONG, not "not found"


@pytest.mark.parametrize("variable", ["XDG_CONFIG_HOME", "LBAUDIT_CONFIG"])
def test_a_configuration_path_the_kernel_refuses_is_exit_2_naming_it(tmp_path, variable):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    env = {"LBAUDIT_CONFIG": None, variable: LONG}
    result = run_cli("validate", policy, cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr[-300:]  # was exit 70: internal error: OSError
    where = LONG + "/lbaudit/config.yaml" if variable == "XDG_CONFIG_HOME" else LONG
    message = f"lbaudit: {where}: cannot read the configuration file: File name too long"
    if variable == "XDG_CONFIG_HOME":  # a default file: how to choose another (sudo -u keeps HOME)
        message += " (name the file with LBAUDIT_CONFIG=PATH, or set LBAUDIT_CONFIG= empty to read none)"
    else:  # the variable's file: the variable named, its value cut
        message += (f" (named by LBAUDIT_CONFIG={LONG[:MAX_QUOTED_NAME]!r}... (a name of {len(LONG):,} characters): "
                    "name another file, or set LBAUDIT_CONFIG= empty to read none)")
    assert result.stderr.splitlines()[0] == message


@pytest.mark.parametrize("written", ["null", "~", "true", "1.5"])
def test_a_key_that_is_not_a_string_is_named_as_written(tmp_path, written):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + f"{written}: 1\n")
    result = run_cli("validate", policy, cwd=tmp_path)
    assert result.returncode == 2
    line = POLICY.count("\n") + 1
    assert f"policy.yaml:{line}:1: policy: unknown key {written!r}" in result.stderr, result.stderr
    config = tmp_path / "config.yaml"
    config.write_text(f"color: never\n{written}: x\n")
    result = run_cli("config", "show", cwd=tmp_path, env={"LBAUDIT_CONFIG": str(config)})
    assert result.returncode == 2
    assert f"{config}:2:1: unknown key {written!r}" in result.stderr, result.stderr
    # alone, the key makes a file that is no configuration (tests/hostile/test_policy_foreign_files.py)
    config.write_text(f"{written}: x\n")
    result = run_cli("config", "show", cwd=tmp_path, env={"LBAUDIT_CONFIG": str(config)})
    assert result.returncode == 2
    assert f"{config}:1:1: not an lbaudit configuration file" in result.stderr, result.stderr


# ---------------------------------------------------------------- NAT rule readers: output they cannot parse


def _program(directory: Path, name: str, output_file: Path) -> None:
    """A real executable ``name`` in ``directory`` that prints ``output_file`` (fixed, no arguments used)."""
    script = directory / name
    script.write_text(f"#!/bin/sh\nexec /bin/cat {output_file}\n")
    script.chmod(0o755)


@pytest.mark.live  # runs programs, if only the test's own two scripts
@pytest.mark.parametrize("iptables, nft, reasons", [
    ("*nat\n-A DOCKER -p tcp --dport 80:http -j DNAT --to-destination 172.17.0.2:80\n", '{"nftables": []}',
     ["iptables-save -t nat printed what this reader cannot parse: invalid literal for int() with base 10: 'http'"]),
    ("*nat\n-A DOCKER -p tcp --dport 99999 -j DNAT --to-destination 172.17.0.2:80\n", '{"nftables": []}',
     ["iptables-save -t nat printed what this reader cannot parse: 1 validation error for PublishedPort host_port"]),
    ("*nat\n", '{"nftables": [{"rule": {"family": "ip", "expr": [{"match": {"op": "==", "left": {"payload": '
               '{"protocol": "tcp", "field": "dport"}}, "right": {"range": [8080]}}}, {"dnat": {"addr": "10.0.0.2"}}]}}]}',
     ["nft -j list ruleset failed: list index out of range"]),
    ("*nat\n", "[" * 100_000 + "]" * 100_000, ["nft -j list ruleset failed: nested too deeply"]),
])
def test_nat_output_a_reader_cannot_parse_is_a_gap_not_a_crash(tmp_path, iptables, nft, reasons):
    from auditor.collect.nat import read_nat
    from auditor.collect.targets import LocalHost

    programs = tmp_path / "bin"
    programs.mkdir()
    (tmp_path / "iptables.txt").write_text(iptables)
    (tmp_path / "nft.json").write_text(nft)
    _program(programs, "iptables-save", tmp_path / "iptables.txt")
    _program(programs, "nft", tmp_path / "nft.json")
    found, gaps, read = read_nat(LocalHost(program_path=(str(programs),), proc=str(tmp_path / "noproc")), 30)
    assert [g.reason[:len(r)] for g, r in zip(gaps, reasons)] == reasons and len(gaps) == len(reasons)
    assert all(g.kind == GapKind.UNREADABLE and g.path == ("published", "nat") for g in gaps)
    # the reader that parsed still counts; a run where none did claims no rule list at all
    assert (found is None) == (read == [])


# ---------------------------------------------------------------- a container engine answering in another shape

# serve_forever looks for shutdown() every poll_interval, 0.5 s by default: each engine test then
# waited half a second after its last assertion was decided (4.5 s of the inner loop, idle).
FAST_SHUTDOWN = {"poll_interval": 0.01}


def _engine(socket_path: Path, answers: dict[str, bytes]):
    """A real HTTP server on a unix socket answering GET paths (any API version prefix) from ``answers``."""
    import http.server
    import socketserver

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            path = "/" + self.path.split("/", 2)[-1]  # drop "/v1.41"
            body = answers.get(path, b"{}")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

        def address_string(self):
            return "engine"

    server = socketserver.ThreadingUnixStreamServer(str(socket_path), Handler)
    threading.Thread(target=server.serve_forever, kwargs=FAST_SHUTDOWN, daemon=True).start()
    return server


CID = "a" * 64


@pytest.mark.parametrize("inspect, reason", [
    (b"[1, 2]", "'list' object has no attribute 'get'"),
    (b'{"NetworkSettings": {"Ports": {"80/tcp": {"HostIp": "0.0.0.0", "HostPort": "8080"}}}}',
     "'str' object has no attribute 'get'"),
    (b'{"Config": {"Labels": ["a=b"]}}', "'list' object has no attribute 'items'"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_engine_json_of_another_shape_is_a_gap_not_a_crash(tmp_path, inspect, reason):
    from auditor.collect.containers import read_engines

    socket_path = tmp_path / "engine.sock"
    server = _engine(socket_path, {"/containers/json": json.dumps([{"Id": CID}]).encode(),
                                   f"/containers/{CID}/json": inspect})
    try:
        view = read_engines(10, environ={"DOCKER_HOST": f"unix://{socket_path}"})
    finally:
        server.shutdown()
        server.server_close()
    assert view.read == [] and view.published == []
    assert [(g.path, g.kind, g.reason) for g in view.gaps] == [
        (("published", "engine"), GapKind.UNREADABLE, f"docker engine API at {socket_path} could not be read: {reason}")]



# ---------------------------------------------------------------- a container engine too slow to finish


def _slow_engine(socket_path: Path, containers: int, byte_delay: float, answer_delay: float):
    """A real unix-socket server that lists ``containers`` and answers each request slowly: every
    byte ``byte_delay`` s apart (each wait far below any socket timeout), after ``answer_delay`` s."""
    import socketserver

    listing = json.dumps([{"Id": f"{i:064x}"} for i in range(containers)]).encode()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                if line.startswith(b"GET "):
                    path = line.split()[1].decode()
                if line in (b"\r\n", b"\n"):
                    break
            body = listing if path.endswith("/containers/json") else b"{}"
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            time.sleep(answer_delay)
            try:
                for i in range(len(answer)) if byte_delay else [None]:
                    self.wfile.write(answer[i:i + 1] if i is not None else answer)
                    self.wfile.flush()
                    time.sleep(byte_delay)
            except OSError:
                return

    server = socketserver.ThreadingUnixStreamServer(str(socket_path), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs=FAST_SHUTDOWN, daemon=True).start()
    return server


@pytest.mark.parametrize("containers, byte_delay, answer_delay", [
    (1, 0.1, 0),     # one answer, a byte every 0.1 s: the socket timeout never fires
    (60, 0, 0.25),   # sixty containers, each answered in 0.25 s: 15 s in all, given 1 s
])
def test_an_engine_too_slow_to_finish_is_a_gap_within_the_time_given(tmp_path, containers, byte_delay, answer_delay):
    # before: the timeout bounded each wait on the socket, not the engine: a trickling or merely
    # slow engine held `lbaudit evaluate` for as long as it liked
    from auditor.collect.containers import read_engines

    socket_path = tmp_path / "engine.sock"
    server = _slow_engine(socket_path, containers, byte_delay, answer_delay)
    started = time.monotonic()
    try:
        view = read_engines(1, environ={"DOCKER_HOST": f"unix://{socket_path}"})
    finally:
        server.shutdown()
        server.server_close()
    assert time.monotonic() - started < 3
    assert view.read == [] and view.published == [] and view.workloads == []
    assert [(g.path, g.kind) for g in view.gaps] == [(("published", "engine"), GapKind.UNREADABLE)]
    assert view.gaps[0].reason.startswith(f"docker engine API at {socket_path} could not be read: ")
    assert view.gaps[0].reason.endswith("no complete answer within 1 s")


def test_an_engine_answering_in_time_is_read(tmp_path):
    from auditor.collect.containers import read_engines

    socket_path = tmp_path / "engine.sock"
    server = _slow_engine(socket_path, 3, 0, 0.05)
    try:
        view = read_engines(2, environ={"DOCKER_HOST": f"unix://{socket_path}"})
    finally:
        server.shutdown()
        server.server_close()
    assert view.gaps == [] and view.read == [f"docker engine API at {socket_path}"] and len(view.workloads) == 3


# ---------------------------------------------------------------- digits that str.isdigit() accepts and int() refuses


def test_a_glob_origin_whose_line_is_a_superscript_never_makes_a_check_raise(tmp_path):
    from auditor.model.facts import SysctlFacts, SysctlSetting
    from auditor.storage.snapshot import write_snapshot
    from tests.factories import LINUX_DEFAULT_SYSCTLS, snapshot

    runtime = {k: SysctlSetting(value=v, origin="/proc/sys/" + k.replace(".", "/")) for k, v in LINUX_DEFAULT_SYSCTLS.items()}
    persistent = {"net.ipv4.tcp_fin_*": SysctlSetting(value="60", origin="/etc/sysctl.d/10-net.conf:\u00b2")}
    path = tmp_path / "host.snapshot.json"
    write_snapshot(snapshot(sysctl=SysctlFacts(runtime=runtime, persistent=persistent)), path)
    policy = tmp_path / "policy.yaml"
    policy.write_text("id: p\nversion: '1'\nowner: o\nrules:\n  - id: drift\n    check: drift.sysctl\n")
    out = tmp_path / "evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--snapshot", path, "-o", out, "-q", "--no-plugins", cwd=tmp_path)
    findings = {f["subject"]: f for f in json.loads(out.read_text())["result"]["findings"]}
    assert findings["sysctl net.ipv4.tcp_fin_timeout"]["status"] == "pass"  # was error: int('\u00b2') raised
    assert result.returncode == 0, result.stderr


def test_a_proc_entry_named_with_a_superscript_is_not_a_pid(tmp_path):
    from auditor.collect.sockets import scan_socket_owners

    proc = tmp_path / "proc"
    (proc / "\u00b2").mkdir(parents=True)
    (proc / "42" / "fd").mkdir(parents=True)
    (proc / "42" / "fd" / "3").symlink_to("socket:[4242]")
    (proc / "42" / "fd" / "4").symlink_to("socket:[\u00b2]")
    scan = scan_socket_owners({4242}, str(proc))
    assert scan.owners == {4242: [42]} and scan.unreadable == {}


# ---------------------------------------------------------------- a waiver glob that a regex would backtrack on


def test_a_waiver_subject_with_many_stars_is_matched_in_linear_time(tmp_path):
    from auditor.model.facts import ProcessInfo
    from auditor.storage.snapshot import write_snapshot
    from tests.factories import listener, snapshot

    name = "a" * 60
    path = tmp_path / "host.snapshot.json"
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=812, name=name)])]), path)
    policy = tmp_path / "policy.yaml"
    policy.write_text("id: p\nversion: '1'\nowner: o\nrules:\n  - id: listeners\n    check: net.bind_addresses\n"
                      "waivers:\n  - rule: listeners\n    subject: '" + "*a" * 30 + "*b'\n    reason: r\n"
                      "    approver: CISO\n    expires: 2099-12-31\n")
    out = tmp_path / "evidence.json"
    # ".*a.*a...b" as a regex backtracks exponentially here: the run did not end (the alarm fails it)
    result = run_cli("evaluate", "--policy", policy, "--snapshot", path, "-o", out, "-q", "--no-plugins",
                     cwd=tmp_path, timeout=30)
    assert result.returncode == 1, result.stderr
    findings = {f["subject"]: f["status"] for f in json.loads(out.read_text())["result"]["findings"]}
    assert findings[f"tcp 0.0.0.0:8080 {name} pid 812"] == "fail"  # no b in it: the waiver matches nothing


@pytest.mark.parametrize("glob, subject, matched", [
    ("tcp 0.0.0.0:* *", "tcp 0.0.0.0:22 sshd pid 1", True),
    ("tcp [::]:22 *", "tcp [::]:22 sshd pid 1", True),  # brackets are literal
    ("tcp [::]:2? *", "tcp [::]:22 sshd pid 1", True),
    ("tcp [::]:2? *", "tcp [::]:220 sshd pid 1", False),
    ("*", "", True),
    ("", "x", False),
    ("a*b*c", "a\nb\nc", True),  # a star crosses line breaks, as the regex with DOTALL did
])
def test_waiver_subject_globs_match_as_before(glob, subject, matched):
    from auditor.engine.waivers import subject_matches

    assert subject_matches(glob, subject) is matched
