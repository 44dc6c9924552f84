"""Hostile input files never reach exit 70 (issue 8, class 4).

Every file lbaudit reads for input (policy, snapshot, evidence, signature, key) that Python's
parsers or our models choke on is exit 2 with a message naming the file (and the line where there
is one), and nothing is written.  A value that validates must not make a check raise later (an
``error`` finding), and a snapshot that contradicts itself is refused, never judged.

Two parts: a plain list of hostile cases, each run through the real command line in a subprocess
(so a hang on ``/dev/zero`` or a traceback cannot hide), and property tests that feed generated and
mutated documents to every loader through ``auditor.cli.main`` in-process.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from auditor.domain.audit_rules import parse_auditctl_list, parse_rules_text
from auditor.engine.registry import load_registry
from auditor.model.facts import AuditFacts, Gap, GapKind, ProcessInfo, SysctlFacts, SysctlSetting
from auditor.model.result import ExitCode
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import Result
from tests.cli import run_cli as in_process
from tests.factories import LINUX_DEFAULT_SYSCTLS, listener, snapshot

REPO = Path(__file__).resolve().parents[2]
AUDIT_FIXTURES = REPO / "tests" / "fixtures" / "audit"
# One pytest-xdist worker runs this module (--dist loadgroup): otherwise both make ``good`` (keys,
# a signed evaluation) and the other module fixture, and both pay Hypothesis's first run (a full
# garbage collection when it registers its random generator).
pytestmark = pytest.mark.xdist_group("hostile_input_loaders")

# Every built-in check, with params that make each of them judge something.
POLICY = """\
id: hostile-inputs
version: "1"
owner: Security Engineering
rules:
  - id: listeners
    check: net.bind_addresses
    params:
      allow: [loopback]
      exceptions:
        - match: {process: "ssh*", ports: [22, "8000-8099"], protocol: tcp}
          allow: [any]
          reason: management
        - match: {user: "10??"}
          allow: [private, "192.0.2.0/24"]
          reason: app tier
  - id: ephemeral
    check: net.ephemeral_port_range
    params: {min_pool_size: 16384, min_low: 1024, protocols: [tcp, udp]}
  - id: time-wait
    check: net.time_wait
    params:
      allowed_tw_reuse: [0, 2]
      min_max_tw_buckets: 65536
      max_fin_timeout: 60
      max_time_wait_share: 0.5
      peak_new_connections_per_second: 300
  - id: socket-audit
    check: audit.socket_logging
  - id: drift-sysctl
    check: drift.sysctl
  - id: drift-audit
    check: drift.audit_rules
waivers:
  - rule: listeners
    subject: "tcp 0.0.0.0:* *"
    reason: migration
    approver: CISO
    expires: 2027-03-31
"""


def rich_snapshot():
    """A snapshot in which every check finds something to judge: listeners with and without
    owners, counts, running and configured sysctls, loaded and persistent audit rules, gaps."""
    rules = parse_rules_text((AUDIT_FIXTURES / "full.rules").read_text(), "/etc/audit/rules.d/30-net.rules").rules
    loaded = parse_auditctl_list((AUDIT_FIXTURES / "equivalence.auditctl-l").read_text()).rules
    persistent = {**LINUX_DEFAULT_SYSCTLS, "net.ipv4.tcp_fin_timeout": "30", "net.ipv4.ip_local_reserved_ports": "8080,9000-9010"}
    return snapshot(
        listeners=[
            listener("127.0.0.1", 8080, uid=1001, user="app",
                     processes=[ProcessInfo(pid=812, name="app", exe="/usr/bin/app", user="app")]),
            listener("0.0.0.0", 22, processes=[ProcessInfo(pid=1, name="sshd", exe="/usr/sbin/sshd", user="root")]),
            listener("::", 40000, v6only=None, uid=1002),
            listener("::ffff:10.0.0.1", 5353, protocol="udp"),
        ],
        time_wait=120,
        sysctl=SysctlFacts(
            runtime={k: SysctlSetting(value=v, origin="/proc/sys/" + k.replace(".", "/")) for k, v in LINUX_DEFAULT_SYSCTLS.items()},
            persistent={k: SysctlSetting(value=v, origin="/etc/sysctl.d/99-net.conf:1") for k, v in persistent.items()},
        ),
        audit=AuditFacts(enabled=1, loaded_rules=loaded, persistent_rules=rules, persistent_source="/etc/audit/rules.d"),
        gaps=[Gap(section="sockets", field="listeners/2/processes", reason="/proc/<pid>/fd not readable"),
              Gap(section="sockets", field="listeners/udp6", reason="offline", kind=GapKind.NOT_APPLICABLE)],
    )


@functools.cache
def rich_snapshot_bytes() -> bytes:
    """``snapshot_bytes(rich_snapshot())``, made once per process: the hostile list below edits it
    18 times at import, and building it (audit rules parsed, models validated) was 0.5 s of CPU in
    each pytest-xdist worker's collection.  Bytes: each caller parses its own copy."""
    return snapshot_bytes(rich_snapshot())


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, Path]:
    """A valid policy, snapshot, signed evidence and key pair, made with the real CLI."""
    base = tmp_path_factory.mktemp("good")
    policy = base / "policy.yaml"
    policy.write_text(POLICY)
    snap = base / "host.snapshot.json"
    snap.write_bytes(rich_snapshot_bytes())
    code, _, err = run_main(["keygen", "--out", str(base / "keys")])
    assert code == 0, err
    evidence = base / "evidence.json"
    code, _, err = run_main(["evaluate", "--policy", str(policy), "--snapshot", str(snap), "-o", str(evidence),
                             "--sign-key", str(base / "keys" / "lbaudit.key"), "--no-plugins", "-q"])
    assert code in (ExitCode.NON_COMPLIANT, ExitCode.INCOMPLETE), err
    return {"policy": policy, "snapshot": snap, "evidence": evidence, "sig": Path(f"{evidence}.sig"),
            "key": base / "keys" / "lbaudit.key", "pub": base / "keys" / "lbaudit.pub"}


def run_main(args: list[str]) -> tuple[int, str, str]:
    """``lbaudit ARGS`` through the real entry point's error mapping (``auditor.cli.run``, see
    tests/cli.py), in-process in the current directory: (exit code, stdout, stderr).  Exit 70 or a
    traceback fails the caller."""
    result = in_process(*args, cwd=os.getcwd())
    return result.returncode, result.stdout, result.stderr


def run_guarded(args: list[str], cwd: Path) -> Result:
    """In-process under an alarm (tests/cli.py): a reader that blocks or never ends fails, not hangs."""
    return in_process(*args, cwd=cwd, env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "LBAUDIT_DEBUG": None}, timeout=60)


# ------------------------------------------------------------------ the hostile list

def _nested_yaml(depth: int) -> str:
    return POLICY + "x: " + "[" * depth + "]" * depth + "\n"


def _policy_with(old: str, new: str) -> str:
    assert old in POLICY
    return POLICY.replace(old, new, 1)


def _snapshot_edit(change) -> bytes:
    data = json.loads(rich_snapshot_bytes())
    change(data)
    return json.dumps(data, indent=1).encode()


def _set(path: tuple, value: Any):
    def change(data):
        target = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


POLICY_LINE_OF_EXPIRES = POLICY.splitlines().index("    expires: 2027-03-31") + 1
POLICY_LINE_OF_PORT_RANGE = 1 + next(i for i, l in enumerate(POLICY.splitlines()) if "8000-8099" in l)

# (case id, which file, its content or a special path, what the message must contain)
# ``line`` is "policy.yaml:<n>" where the file has a line to name.
HOSTILE = [
    # --- policy (YAML)
    ("policy-dev-zero", "policy", "/dev/zero", "/dev/zero: cannot read policy: it is a character device"),
    ("policy-fifo", "policy", "FIFO", "is a FIFO"),
    ("policy-directory", "policy", "DIR", "is a directory"),
    ("policy-nested-5000", "policy", _nested_yaml(5000), f"policy.yaml:{POLICY.count(chr(10)) + 1}:"),
    ("policy-nested-flow-mappings", "policy", POLICY + "x: " + "{a: " * 3000 + "\n", "nested deeper than 64 levels"),
    ("policy-date-feb-30", "policy", _policy_with("expires: 2027-03-31", "expires: 2027-02-30"),
     f"policy.yaml:{POLICY_LINE_OF_EXPIRES}:14: invalid date '2027-02-30': day is out of range for month"),
    ("policy-date-month-13", "policy", _policy_with("expires: 2027-03-31", "expires: 2027-13-01"),
     f"policy.yaml:{POLICY_LINE_OF_EXPIRES}:14: invalid date '2027-13-01'"),
    ("policy-date-year-0", "policy", _policy_with("expires: 2027-03-31", "expires: 0000-01-01"),
     f"policy.yaml:{POLICY_LINE_OF_EXPIRES}:14: invalid date '0000-01-01': year 0 is out of range"),
    ("policy-date-hour-25", "policy", _policy_with("expires: 2027-03-31", "expires: 9999-12-31T25:00:00"),
     f"policy.yaml:{POLICY_LINE_OF_EXPIRES}:14: invalid date '9999-12-31T25:00:00': hour must be in 0..23"),
    ("policy-date-hour-25-no-seconds", "policy", _policy_with("expires: 2027-03-31", "expires: 9999-12-31T25:00"),
     f"policy.yaml:{POLICY_LINE_OF_EXPIRES}:5: waivers[0].expires: expected a calendar day such as 2027-03-31; found '9999-12-31T25:00'"),
    ("policy-huge-int", "policy", _policy_with("min_pool_size: 16384", "min_pool_size: " + "9" * 5000),
     "the integer '999999999"),
    ("policy-inf-rate", "policy", _policy_with("peak_new_connections_per_second: 300", "peak_new_connections_per_second: .inf"),
     "'.inf' is not a finite number"),
    ("policy-huge-rate", "policy", _policy_with("peak_new_connections_per_second: 300",
                                                "peak_new_connections_per_second: 1.0e+308"),
     "peak_new_connections_per_second"),
    ("policy-nul-in-glob", "policy", _policy_with('process: "ssh*"', 'process: "ssh\\0*"'),
     "control character '\\x00' in a string"),
    ("policy-port-70000", "policy", _policy_with('"8000-8099"', "70000"), f"policy.yaml:{POLICY_LINE_OF_PORT_RANGE}:"),
    ("policy-port-range-backwards", "policy", _policy_with('"8000-8099"', '"8099-8000"'), "the range runs backwards"),
    ("policy-port-huge-digits", "policy", _policy_with('"8000-8099"', '"' + "9" * 5000 + '"'), "is not a port"),
    ("policy-non-utf8", "policy", POLICY.encode() + b"# \xff\n", "not valid UTF-8"),
    ("policy-raw-nul", "policy", POLICY.encode() + b"\x00", "character '\\x00' is not allowed"),
    ("policy-extends-nul", "policy", POLICY + 'extends: "a\\0b"\n', "control character"),
    ("policy-extends-long-name", "policy", POLICY + "extends: " + "a" * 5000 + "\n", "extends: "),
    # --- snapshot (JSON)
    ("snapshot-dev-zero", "snapshot", "/dev/zero", "is a character device, not an lbaudit snapshot"),
    ("snapshot-fifo", "snapshot", "FIFO", "is a FIFO, not an lbaudit snapshot"),
    ("snapshot-nested", "snapshot", b'{"schema": ' + b"[" * 100000 + b"]" * 100000 + b"}",
     "nested deeper than 64 levels (line 1, column"),
    ("snapshot-huge-int", "snapshot", _snapshot_edit(_set(("facts", "sockets", "counts", "time_wait"), 0)).replace(
        b'"time_wait": 0', b'"time_wait": ' + b"9" * 5000), "a number has more than 4300 digits (line"),
    ("snapshot-1e400", "snapshot", _snapshot_edit(_set(("facts", "sockets", "counts", "time_wait"), 0)).replace(
        b'"time_wait": 0', b'"time_wait": 1e400'), "a number is out of range (line"),
    ("snapshot-port-70000", "snapshot", _snapshot_edit(_set(("facts", "sockets", "listeners", 0, "port"), 70000)),
     "/facts/sockets/listeners/0/port"),
    ("snapshot-negative-count", "snapshot", _snapshot_edit(_set(("facts", "sockets", "counts", "time_wait"), -5)),
     "/facts/sockets/counts/time_wait"),
    ("snapshot-count-2**64", "snapshot", _snapshot_edit(_set(("facts", "sockets", "counts", "time_wait"), 2**64)),
     "/facts/sockets/counts/time_wait"),
    ("snapshot-address-not-ip", "snapshot", _snapshot_edit(_set(("facts", "sockets", "listeners", 0, "address"), "localhost")),
     "address 'localhost' is not an IPv4 or IPv6 address"),
    ("snapshot-address-wrong-family", "snapshot", _snapshot_edit(_set(("facts", "sockets", "listeners", 0, "address"), "::1")),
     "address '::1' is not an ipv4 address"),
    ("snapshot-sysctl-wrong-type", "snapshot",
     _snapshot_edit(_set(("facts", "sysctl", "runtime", "net.ipv4.tcp_fin_timeout", "value"), 60)),
     "/facts/sysctl/runtime/net.ipv4.tcp_fin_timeout/value"),
    ("snapshot-listen-count-disagrees", "snapshot",
     _snapshot_edit(_set(("facts", "sockets", "counts", "tcp_by_state", "LISTEN"), 7)),
     "/facts/sockets/counts/tcp_by_state/LISTEN: 7 TCP sockets in LISTEN, but 3 TCP listeners are listed"),
    ("snapshot-present-and-a-gap", "snapshot",
     _snapshot_edit(lambda d: d["gaps"].append({"section": "sysctl", "field": "runtime/net.ipv4.tcp_tw_reuse",
                                                "reason": "unreadable", "kind": "unreadable"})),
     "/gaps/2: says sysctl net.ipv4.tcp_tw_reuse could not be read, but its runtime value is present"),
    ("snapshot-time-wait-counted-twice-differently", "snapshot",
     _snapshot_edit(_set(("facts", "sockets", "counts", "tcp_by_state", "TIME_WAIT"), 5)),
     "/facts/sockets/counts/tcp_by_state/TIME_WAIT: 5 TIME_WAIT sockets, but time_wait is 120"),
    ("snapshot-fewer-udp-sockets-than-udp-listeners", "snapshot",
     _snapshot_edit(_set(("facts", "sockets", "counts", "udp_sockets"), 0)),
     "/facts/sockets/counts/udp_sockets: 0 UDP sockets, fewer than the 1 UDP listeners listed"),
    ("snapshot-section-present-and-missing", "snapshot",
     _snapshot_edit(lambda d: d["gaps"].append({"section": "audit", "field": "", "reason": "auditctl missing"})),
     "/gaps/2: says the whole audit section could not be collected, but facts.audit is present"),
    ("snapshot-counts-present-and-unreadable", "snapshot",
     _snapshot_edit(lambda d: d["gaps"].append({"section": "sockets", "field": "counts", "reason": "sockstat"})),
     "/gaps/2: says sockets.counts could not be read, but it is present"),
    ("snapshot-duplicate-section", "snapshot",
     rich_snapshot_bytes().replace(b'"facts": {', b'"facts": {"audit": null, ', 1),
     "duplicate key (line"),
    ("snapshot-collected-at-overflow", "snapshot",
     _snapshot_edit(_set(("provenance", "collected_at"), "0001-01-01T00:00:00+01:00")), "/provenance/collected_at"),
    ("snapshot-collected-at-feb-30", "snapshot",
     _snapshot_edit(_set(("provenance", "collected_at"), "2027-02-30T00:00:00Z")), "/provenance/collected_at"),
    ("snapshot-gap-without-reason", "snapshot", _snapshot_edit(_set(("gaps", 1, "reason"), "")), "/gaps/1/reason"),
    ("snapshot-audit-enabled-7", "snapshot", _snapshot_edit(_set(("facts", "audit", "enabled"), 7)), "/facts/audit/enabled"),
    # --- evidence, signature, keys (report / verify / sign)
    ("evidence-dev-zero", "evidence", "/dev/zero", "is a character device, not an lbaudit evidence file"),
    ("evidence-nested", "evidence", b"[" * 5000, "nested deeper than 64 levels"),
    ("evidence-control-id-empty", "evidence",
     lambda good: good["evidence"].read_bytes().replace(b'"controls": [\n        "CM-7"', b'"controls": [\n        ""', 1),
     "/controls/0: String should match pattern"),
    ("signature-fifo", "sig", "FIFO", "is a FIFO, not an lbaudit evidence signature"),
    ("signature-nested", "sig", b"{\"a\": " * 3000, "nested deeper than 64 levels"),
    ("pubkey-dev-zero", "pub", "/dev/zero", "is a character device, not an Ed25519 public key"),
    ("pubkey-garbage", "pub", b"-----BEGIN PUBLIC KEY-----\n\xff\xfe\n-----END PUBLIC KEY-----\n", "not a PEM public key"),
    ("signkey-fifo", "key", "FIFO", "is a FIFO, not an Ed25519 private key"),
]


def _place(kind: str, content: Any, base: Path, good: dict[str, Path], name: str) -> Path:
    if callable(content):
        content = content(good)
        assert content, "the edit found nothing to change"
    if content == "/dev/zero":
        return Path("/dev/zero")
    path = base / name
    if content == "FIFO":
        # a private key is 0600 or refused for its mode first; the FIFO must be what is refused
        os.mkfifo(path, 0o600 if kind == "key" else 0o666)
    elif content == "DIR":
        path.mkdir()
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize("case, kind, content, message", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_input_file_is_exit_2_naming_it_and_writes_nothing(good, tmp_path, case, kind, content, message):
    out = tmp_path / "out"
    out.mkdir()
    evidence_out = out / "evidence.json"
    if kind == "policy":
        target = _place(kind, content, tmp_path, good, "policy.yaml")
        args = ["evaluate", "--policy", str(target), "--snapshot", str(good["snapshot"]), "-o", str(evidence_out)]
    elif kind == "snapshot":
        target = _place(kind, content, tmp_path, good, "host.snapshot.json")
        args = ["evaluate", "--policy", str(good["policy"]), "--snapshot", str(target), "-o", str(evidence_out),
                "--format", "sarif", "--out-dir", str(out)]
    elif kind == "evidence":
        target = _place(kind, content, tmp_path, good, "evidence.json")
        args = ["report", str(target), "--format", "sarif,junit", "--out-dir", str(out)]
    elif kind == "sig":
        evidence = tmp_path / "evidence.json"
        evidence.write_bytes(good["evidence"].read_bytes())
        target = _place(kind, content, tmp_path, good, "evidence.json.sig")
        args = ["verify", str(evidence), "--pubkey", str(good["pub"])]
    elif kind == "pub":
        target = _place(kind, content, tmp_path, good, "lbaudit.pub")
        args = ["verify", str(good["evidence"]), "--pubkey", str(target)]
    else:  # private signing key
        target = _place(kind, content, tmp_path, good, "lbaudit.key")
        args = ["evaluate", "--policy", str(good["policy"]), "--snapshot", str(good["snapshot"]), "-o", str(evidence_out),
                "--sign-key", str(target)]
    if content in ("/dev/zero", "FIFO"):
        # Under an alarm: a reader that blocks or never ends fails, not hangs.
        result = run_guarded(args, cwd=tmp_path)
        code, err = result.returncode, result.stderr
    else:
        with contextlib.chdir(tmp_path):
            code, _, err = run_main(args)
    assert code == ExitCode.USAGE, (code, err[-2000:])
    assert "Traceback" not in err and "internal error" not in err
    first = err.splitlines()[0]
    assert str(target) in first or target.name in first, err[:500]
    assert message in err, err[:2000]
    assert sorted(p.name for p in out.iterdir()) == []


def test_policy_dev_zero_fails_fast_without_reading_forever(tmp_path):
    """stat() says /dev/zero holds 0 bytes; the old reader then read it to exhaustion."""
    result = run_guarded(["validate", "/dev/zero"], cwd=tmp_path)
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith("/dev/zero: cannot read policy: it is a character device, not a regular file")


# Values a snapshot may hold (a sysctl is text as the kernel or a file gives it; an audit rule names
# what auditctl printed) on which a check used to raise: each now judges the rule (not_reviewed
# where it cannot read the value), so the run ends 1 (the rich snapshot fails elsewhere) with no
# `error` finding.  (case id, JSON path, value, rule id, the status that rule's finding must have)
ACCEPTED_BUT_ODD = [
    ("sysctl-5000-digit-int", ("facts", "sysctl", "runtime", "net.ipv4.tcp_max_tw_buckets", "value"), "9" * 5000,
     "time-wait", "sysctl net.ipv4.tcp_max_tw_buckets", "not_reviewed"),
    ("sysctl-5000-digit-port", ("facts", "sysctl", "runtime", "net.ipv4.ip_local_port_range", "value"), "1 " + "9" * 5000,
     "ephemeral", "ephemeral port range bounds", "not_reviewed"),
    ("sysctl-superscript-digit", ("facts", "sysctl", "runtime", "net.ipv4.tcp_fin_timeout", "value"), "²",
     "time-wait", "sysctl net.ipv4.tcp_fin_timeout", "not_reviewed"),
    ("sysctl-drift-5000-digit-range", ("facts", "sysctl", "runtime", "net.ipv4.ip_local_reserved_ports", "value"),
     # a running value the kernel never prints (drift.sysctl 1.1.0 reads values as the kernel does)
     "1-" + "9" * 5000, "drift-sysctl", "sysctl net.ipv4.ip_local_reserved_ports", "not_reviewed"),
    ("port-range-backwards", ("facts", "sysctl", "runtime", "net.ipv4.ip_local_port_range", "value"), "60999 32768",
     "ephemeral", "listeners in the ephemeral port range", "not_reviewed"),
    ("audit-syscall-superscript", ("facts", "audit", "persistent_rules", 0, "syscalls"), ["²"],
     "drift-audit", None, None),
    ("gap-index-5000-digits", ("gaps", 0, "field"), "listeners/" + "9" * 5000 + "/processes", "listeners", None, None),
]


@pytest.mark.parametrize("case, path, value, rule, subject, status", ACCEPTED_BUT_ODD, ids=[c[0] for c in ACCEPTED_BUT_ODD])
def test_odd_value_a_snapshot_accepts_never_makes_a_check_raise(good, tmp_path, case, path, value, rule, subject, status):
    snap = tmp_path / "odd.snapshot.json"
    change = _set(path, value)
    if path[0] == "gaps" and path[-1] == "field":
        def change(data, edit=change):  # a gap as written before gaps carried a path: field only
            edit(data)
            del data["gaps"][path[1]]["path"]
    snap.write_bytes(_snapshot_edit(change))
    evidence = tmp_path / "evidence.json"
    code, _, err = run_main(["evaluate", "--policy", str(good["policy"]), "--snapshot", str(snap), "-o", str(evidence),
                             "--no-plugins", "-q"])
    if case == "gap-index-5000-digits":
        # A gap about a listener that is not listed contradicts the snapshot: refused, not judged.
        assert code == ExitCode.USAGE and "/gaps/0: is about listener 999" in err, err[-1500:]
        return
    assert code == ExitCode.NON_COMPLIANT, (code, err[-1500:])
    findings = json.loads(evidence.read_text())["result"]["findings"]
    assert [f"{f['rule_id']}: {f['reason']}" for f in findings if f["status"] == "error"] == []
    if subject is not None:
        (finding,) = [f for f in findings if f["rule_id"] == rule and f["subject"] == subject]
        assert finding["status"] == status, finding


# ------------------------------------------------------------------ property tests

# Reproducible, and sized by where the suite runs: 40 examples a property in CI (CI=true), 12 in the
# inner loop on a workstation (these properties were a fifth of the suite's CPU time there);
# LBAUDIT_FUZZ=long is a longer hunt (500 random examples).  LBAUDIT_FUZZ_EXAMPLES and
# LBAUDIT_FUZZ_RANDOM=1 set the count and the randomness alone.
LONG_FUZZ = os.environ.get("LBAUDIT_FUZZ", "").strip().lower() == "long"
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
EXAMPLES = int(os.environ.get("LBAUDIT_FUZZ_EXAMPLES") or (500 if LONG_FUZZ else 40 if IN_CI else 12))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,  # no .hypothesis/ in the repo
                derandomize=not (os.environ.get("LBAUDIT_FUZZ_RANDOM") or LONG_FUZZ),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

hostile_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 65535, 65536, 70000, 2**31, 2**32, 2**63, 2**64, -(2**63)]),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0.5, 1e308, -1e308, 5e-324]),
    st.text(max_size=20),
    st.sampled_from(["", "0", "-1", "1" * 40, "9" * 5000, "1e400", "::", "0.0.0.0", "::ffff:0.0.0.0", "fe80::1%eth0",
                     "localhost", "300.1.1.1", "10.0.0.0/8", "a\x00b", "2027-02-30", "2027-02-30T00:00:00Z",
                     "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "65535 0", "70000 80000",
                     "1-0", "8080,9000-9010", "0x10", "²", "unset", "tcp", "udp", "ipv4", "ipv6", "runtime",
                     "listeners/99/processes", "listeners/" + "9" * 40 + "/processes/0/name", "counts", ""]),
)
hostile_values = st.recursive(hostile_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, prefix + (index,))
    return found


hostile_ints = st.one_of(st.integers(min_value=-(2**70), max_value=2**70),
                         st.sampled_from([0, -1, 1, 65535, 65536, 2**31, 2**32, 2**63 - 1, 2**63, 2**64]))
hostile_strings = st.one_of(st.text(max_size=12), hostile_scalars.filter(lambda v: isinstance(v, str)))


def _same_type(old: Any) -> st.SearchStrategy[Any]:
    """A hostile value of the type already there, so that more mutants pass the schema and reach
    the checks (a wrong type is refused at once)."""
    if isinstance(old, bool):
        return st.booleans()
    if isinstance(old, int):
        return hostile_ints
    if isinstance(old, float):
        return st.floats(allow_nan=False, allow_infinity=False)
    if isinstance(old, str):
        return hostile_strings
    if isinstance(old, list):
        return st.sampled_from([[], old + old[:1], old[::-1], old[1:]])
    if isinstance(old, dict):
        return st.sampled_from([{}, dict(list(old.items())[1:])])
    return hostile_values


@st.composite
def mutated(draw, document: Any, values=hostile_values, rounds: int = 3) -> Any:
    """``document`` with up to ``rounds`` values replaced (mostly by one of the same type), keys
    deleted or entries added."""
    data = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=rounds))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        # Audit rules hold most of the leaves; half the time, aim at everything else.
        others = [p for p in paths if not ({"loaded_rules", "persistent_rules", "result", "checks"} & set(map(str, p)))]
        path = draw(st.sampled_from(others if others and draw(st.booleans()) else paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["typed", "typed", "typed", "replace", "delete", "add"]))
        if action == "typed":
            parent[path[-1]] = draw(_same_type(parent[path[-1]]))
        elif action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(values)
        else:
            parent.append(draw(values))
    return data


SNAPSHOT_DOC = json.loads(rich_snapshot_bytes())
POLICY_DOC = yaml.safe_load(POLICY)


def _assert_evaluate_outcome(code: int, err: str, named: Path, out: Path) -> None:
    assert code in (0, 1, 2, 3), (code, err[-2000:])
    if code == ExitCode.USAGE:
        assert str(named) in err.splitlines()[0], err[:1000]
        assert not any(out.iterdir()), "an output file was written on exit 2"
        return
    evidence = json.loads((out / "evidence.json").read_text())
    errors = [f"{f['rule_id']}: {f['reason']}" for f in evidence["result"]["findings"] if f["status"] == "error"]
    # A value the loaders accept must never make a check raise: that is a validation bug.
    assert not errors, errors


def _fresh(base: Path, name: str) -> Path:
    directory = base / name
    if directory.exists():
        for item in directory.iterdir():
            item.unlink()
    directory.mkdir(exist_ok=True)
    return directory


@pytest.mark.slow  # hypothesis: evaluates each mutated snapshot
@FUZZ
@given(document=mutated(SNAPSHOT_DOC))
def test_mutated_snapshot_is_judged_or_refused_never_an_error(good, tmp_path_factory, document):
    base = tmp_path_factory.getbasetemp()
    snap = base / "fuzz.snapshot.json"
    snap.write_text(json.dumps(document))
    out = _fresh(base, "fuzz-snapshot-out")
    code, _, err = run_main(["evaluate", "--policy", str(good["policy"]), "--snapshot", str(snap),
                             "-o", str(out / "evidence.json"), "--format", "sarif,junit,text", "--out-dir", str(out),
                             "--no-plugins", "-q"])
    _assert_evaluate_outcome(code, err, snap, out)


@FUZZ
@given(document=mutated(POLICY_DOC, rounds=2))
def test_mutated_policy_is_judged_or_refused_never_an_error(good, tmp_path_factory, document):
    base = tmp_path_factory.getbasetemp()
    policy = base / "fuzz.policy.yaml"
    try:
        policy.write_text(yaml.safe_dump(document, allow_unicode=True))
    except (yaml.YAMLError, UnicodeEncodeError):
        assume(False)
    out = _fresh(base, "fuzz-policy-out")
    code, _, err = run_main(["evaluate", "--policy", str(policy), "--snapshot", str(good["snapshot"]),
                             "-o", str(out / "evidence.json"), "--no-plugins", "-q"])
    _assert_evaluate_outcome(code, err, policy, out)


@pytest.fixture(scope="module")
def evidence_doc(good) -> dict:
    return json.loads(good["evidence"].read_text())


@pytest.mark.slow  # hypothesis: renders each mutated evidence in every format
@FUZZ
@given(data=st.data())
def test_mutated_evidence_renders_or_is_refused(good, evidence_doc, tmp_path_factory, data):
    """``lbaudit report`` renders every format from an evidence file alone: one the loader accepts
    must render (0), anything else is exit 2 with nothing written."""
    document = data.draw(mutated(evidence_doc))
    base = tmp_path_factory.getbasetemp()
    evidence = base / "fuzz.evidence.json"
    evidence.write_text(json.dumps(document))
    out = _fresh(base, "fuzz-evidence-out")
    code, _, err = run_main(["report", str(evidence), "--format", "sarif,junit,oscal,text", "--out-dir", str(out),
                             "--no-plugins"])
    assert code in (0, 2), (code, err[-2000:])
    if code == ExitCode.USAGE:
        assert str(evidence) in err.splitlines()[0], err[:1000]
        assert not any(out.iterdir())
    else:
        assert len(list(out.iterdir())) == 4


# Valid params of each check: the mutations start here, so that most of them still validate and
# the check runs on them.
BASE_PARAMS = {
    **{rule["id"]: rule.get("params", {}) for rule in POLICY_DOC["rules"]},
    "socket-audit": {"syscalls": ["bind", "connect"], "arches": ["b64", "b32"], "accepted_filters": ["auid>=1000"],
                     "require_loaded": True, "require_persistent": False},
    "drift-sysctl": {"keys": ["net.ipv4.tcp_fin_timeout", "net.ipv4.ip_local_reserved_ports"]},
}
RULE_OF = {rule["check"]: rule["id"] for rule in POLICY_DOC["rules"]}


def _params_of(check: str) -> st.SearchStrategy[dict]:
    spec = load_registry(plugins=False).checks[check]
    names = sorted(spec.params.model_fields)
    anything = st.dictionaries(st.sampled_from(names), hostile_values, min_size=1, max_size=3)
    return st.one_of(mutated(BASE_PARAMS[RULE_OF[check]], rounds=2), mutated(BASE_PARAMS[RULE_OF[check]], rounds=2),
                     anything)


@FUZZ
@given(data=st.data())
@pytest.mark.parametrize("check", ["net.bind_addresses", "net.ephemeral_port_range", "net.time_wait",
                                   "audit.socket_logging", "drift.sysctl"])
def test_check_params_that_validate_never_make_the_check_raise(good, tmp_path_factory, check, data):
    params = data.draw(_params_of(check))
    base = tmp_path_factory.getbasetemp()
    policy = base / "fuzz.params.yaml"
    policy.write_text(yaml.safe_dump({"id": "p", "version": "1", "owner": "o",
                                      "rules": [{"id": "r", "check": check, "params": params}]}))
    out = _fresh(base, "fuzz-params-out")
    code, _, err = run_main(["evaluate", "--policy", str(policy), "--snapshot", str(good["snapshot"]),
                             "-o", str(out / "evidence.json"), "--no-plugins", "-q"])
    _assert_evaluate_outcome(code, err, policy, out)


json_documents = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20,
)
# What each loader's file is called and how the command line reaches it.
LOADERS = ["policy", "snapshot", "evidence", "sig", "pub", "key"]


def _command(kind: str, target: Path, good: dict[str, Path], out: Path) -> list[str]:
    evaluate = ["evaluate", "--policy", str(good["policy"]), "--snapshot", str(good["snapshot"]),
                "-o", str(out / "evidence.json"), "--no-plugins", "-q"]
    if kind == "policy":
        return ["evaluate", "--policy", str(target), "--snapshot", str(good["snapshot"]), "-o", str(out / "evidence.json"),
                "--no-plugins", "-q"]
    if kind == "snapshot":
        return ["evaluate", "--policy", str(good["policy"]), "--snapshot", str(target), "-o", str(out / "evidence.json"),
                "--no-plugins", "-q"]
    if kind == "evidence":
        return ["report", str(target), "--format", "sarif", "--out-dir", str(out)]
    if kind == "sig":
        return ["verify", str(target.with_suffix("")), "--pubkey", str(good["pub"])]
    if kind == "pub":
        return ["verify", str(good["evidence"]), "--pubkey", str(target)]
    return [*evaluate, "--sign-key", str(target)]


def _feed(kind: str, raw: bytes, good: dict[str, Path], base: Path) -> tuple[int, str, Path, Path]:
    work = _fresh(base, f"fuzz-{kind}")
    out = _fresh(base, f"fuzz-{kind}-out")
    if kind == "sig":
        (work / "evidence.json").write_bytes(good["evidence"].read_bytes())
        target = work / "evidence.json.sig"
    else:
        target = work / {"policy": "p.yaml", "snapshot": "s.json", "evidence": "e.json", "pub": "k.pub", "key": "k.key"}[kind]
    target.write_bytes(raw)
    code, _, err = run_main(_command(kind, target, good, out))
    return code, err, target, out


@settings(FUZZ, max_examples=max(1, EXAMPLES * 5 // 8))
@given(kind=st.sampled_from(LOADERS), raw=st.binary(max_size=300))
def test_random_bytes_are_refused_by_every_loader(good, tmp_path_factory, kind, raw):
    code, err, target, out = _feed(kind, raw, good, tmp_path_factory.getbasetemp())
    assert code == ExitCode.USAGE, (kind, code, err[-1500:])
    assert str(target) in err.splitlines()[0], err[:500]
    assert not any(out.iterdir())


@settings(FUZZ, max_examples=max(1, EXAMPLES * 5 // 8))
@given(kind=st.sampled_from(LOADERS), document=json_documents, depth=st.sampled_from([0, 0, 70, 3000]))
def test_random_json_is_refused_by_every_loader(good, tmp_path_factory, kind, document, depth):
    raw = ("[" * depth + json.dumps(document) + "]" * depth).encode()
    code, err, target, out = _feed(kind, raw, good, tmp_path_factory.getbasetemp())
    assert code == ExitCode.USAGE, (kind, code, err[-1500:])
    assert str(target) in err.splitlines()[0], err[:500]
    assert not any(out.iterdir())


@settings(FUZZ, max_examples=max(1, EXAMPLES * 3 // 4))
@given(kind=st.sampled_from(["policy", "snapshot", "evidence", "sig"]), data=st.data())
def test_mutated_valid_file_bytes_are_judged_or_refused(good, tmp_path_factory, kind, data):
    """Flip, cut or insert bytes in a valid file of each kind."""
    raw = bytearray(good[kind].read_bytes())
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(raw)))
        how = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if how == "flip" and at < len(raw):
            raw[at] = data.draw(st.integers(min_value=0, max_value=255))
        elif how == "cut":
            del raw[at:at + data.draw(st.integers(min_value=1, max_value=50))]
        else:
            raw[at:at] = data.draw(st.sampled_from([b"[", b"{", b"\x00", b"\xff", b'"', b"9" * 5000, b"1e400",
                                                    b"- ", b": ", b"&a ", b"*a", b"!!python/object ", b"\n  "]))
    code, err, target, out = _feed(kind, bytes(raw), good, tmp_path_factory.getbasetemp())
    if kind == "sig":
        # An altered signature is malformed (2) or fails verification (10-12); a cut that only
        # removed whitespace leaves the same document, which still verifies (0).
        assert code in (ExitCode.COMPLIANT, ExitCode.USAGE, ExitCode.VERIFY_DIGEST, ExitCode.VERIFY_SIGNATURE,
                        ExitCode.VERIFY_WRONG_KEY), (code, err[-1500:])
        if code == ExitCode.COMPLIANT:
            assert json.loads(raw) == json.loads(good["sig"].read_bytes())
        return
    if kind in ("policy", "snapshot"):
        _assert_evaluate_outcome(code, err, target, out)
        return
    assert code in (0, 2), (code, err[-1500:])
    if code == ExitCode.USAGE:
        assert str(target) in err.splitlines()[0], err[:500]
        assert not any(out.iterdir())
