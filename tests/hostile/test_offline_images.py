"""Hostile offline images (issue 8, class 2): every way systemd starts a socket unit and every place
a drop-in can change it, specifiers that only the running system knows, the kernel default of
ip_local_reserved_ports, and files that would block or exhaust a reader (FIFO, device node,
symlink loop, huge sparse file).

Each case builds an image under tmp_path and runs ``lbaudit evaluate --root`` in-process under an
alarm (tests/cli.py ``run_cli(timeout=)``), so a hang fails the test instead of hanging CI, and
asserts the exact status of the findings that matter and the exit code.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.factories import (
    BOOT_BACKLOG_RULES,
    ELF_X86_64,
    SOCKET_AUDIT_RULES,
    install_kernel_without_x32,
    install_procps_boot,
)

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # seconds; evaluate of these small images takes about one
UNITS = "usr/lib/systemd/system"
ETC_UNITS = "etc/systemd/system"

POLICY = """\
id: hostile-offline
version: "1"
owner: Hostile corpus <tests@example.com>
rules:
  - id: listeners
    check: net.bind_addresses
    params:
      allow: [loopback]
  - id: pool
    check: net.ephemeral_port_range
  - id: audit
    check: audit.socket_logging
    params:
      syscalls: [bind, connect]
      require_loaded: false
      require_enabled: false
"""
# Without it the pool is not_reviewed in every image: the range has no kernel default lbaudit assumes.
RANGE_CONF = "net.ipv4.ip_local_port_range = 32768 60999\n"
SOCKET_RULES = SOCKET_AUDIT_RULES.replace("-k net", "-k lbaudit-socket")  # every way of making the calls


def write(root: Path, path: str, text: str) -> Path:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def link(root: Path, path: str, target: str) -> None:
    where = root / path
    where.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, where)


def unit(listen: str, install: str | None = "WantedBy=sockets.target") -> str:
    text = "[Unit]\nDescription=test\n[Socket]\n" + "".join(f"ListenStream={v}\n" for v in listen.split())
    return text + (f"[Install]\n{install}\n" if install else "")


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """A small image whose every section is judged: port range set, socket rules persisted, one
    loopback socket enabled."""
    root = tmp_path / "image"
    write(root, "etc/sysctl.d/10-range.conf", RANGE_CONF)
    # no process may use io_uring after boot, so its socket operations need no io_uring audit rule
    write(root, "etc/sysctl.d/60-io_uring.conf", "kernel.io_uring_disabled = 2\n")
    write(root, "etc/audit/rules.d/10-socket.rules", SOCKET_RULES)
    write(root, "etc/audit/rules.d/00-backlog.rules", BOOT_BACKLOG_RULES)  # a compliant host sets -b
    (root / "usr/sbin").mkdir(parents=True)
    (root / "usr/sbin/auditctl").write_bytes(ELF_X86_64)  # the image's machine, for its syscall names
    install_kernel_without_x32(root)  # offline, x32 is read from the image's kernels
    install_procps_boot(root)  # what applies its sysctl.d at boot
    write(root, f"{UNITS}/local.socket", unit("127.0.0.1:8081"))
    link(root, f"{ETC_UNITS}/sockets.target.wants/local.socket", f"/{UNITS}/local.socket")
    return root


def evaluate(root: Path) -> tuple[int, dict[tuple[str, str], dict]]:
    """Exit code and findings by (rule, subject) of ``lbaudit evaluate --root``, in this process
    under an alarm (tests/cli.py): a read that blocks (a FIFO) fails the test instead of hanging."""
    policy = root.parent / "policy.yaml"
    policy.write_text(POLICY)
    evidence = root.parent / "evidence.json"
    args = ["evaluate", "--policy", str(policy), "--root", str(root), "--output", str(evidence)]
    result = run_cli(*args, cwd=root.parent, timeout=TIMEOUT)
    code = result.returncode
    assert code in (0, 1, 3), result.stderr
    findings = json.loads(evidence.read_text())["result"]["findings"]
    by_subject = {(f["rule_id"], f["subject"]): f for f in findings}
    assert len(by_subject) == len(findings)
    return code, by_subject


def listener_statuses(findings: dict[tuple[str, str], dict]) -> dict[str, str]:
    """``"tcp 0.0.0.0:8080" -> status`` for the listener findings (the subject up to the owner)."""
    return {" ".join(subject.split()[:2]): f["status"] for (rule, subject), f in findings.items()
            if rule == "listeners" and subject.startswith(("tcp ", "udp "))}


def status(findings: dict[tuple[str, str], dict], rule: str, subject: str) -> str:
    return findings[(rule, subject)]["status"]


def test_the_base_image_is_judged_everywhere(image: Path) -> None:
    """The reference every hostile case below changes one thing of: nothing unreviewed."""
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert status(findings, "pool", "ephemeral port pool") == "pass"
    assert status(findings, "audit", "persistent rules b64") == "pass"
    assert status(findings, "listeners", "listeners (collection)") == "not_applicable"
    assert code == 0


# ---------------------------------------------------------------- files that block or never end

def _fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)


def _zero_device(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a character device node (os.mknod) needs root")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 5))  # what /dev/zero is


def _sparse(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # 100 MB of zeros that take no disk


def _loop(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(path.name, path)  # points at itself


def _zero_link(path: Path) -> None:
    """A conf linked to /dev/zero: resolved inside the image, where /dev/zero is a device node."""
    root = next(p for p in path.parents if p.name == "image")
    _zero_device(root / "dev/zero")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink("/dev/zero", path)


HOSTILE_FILES = {"fifo": (_fifo, "is a FIFO"), "char-device": (_zero_device, "is a character device"),
                 "sparse-100MB": (_sparse, "larger than"), "symlink-loop": (_loop, "too many levels of symbolic links"),
                 "link-to-dev-zero": (_zero_link, "is a character device")}


@pytest.mark.parametrize("kind", sorted(HOSTILE_FILES))
def test_hostile_file_in_sysctl_d_is_a_gap_naming_it(image: Path, kind: str) -> None:
    make, what = HOSTILE_FILES[kind]
    make(image / "etc/sysctl.d/99-x.conf")
    code, findings = evaluate(image)
    pool = findings[("pool", "ephemeral port pool")]
    assert pool["status"] == "not_reviewed"
    assert "/etc/sysctl.d/99-x.conf" in pool["reason"] and what in pool["reason"]
    assert status(findings, "pool", "ephemeral port range bounds") == "not_reviewed"
    assert code == 3


@pytest.mark.parametrize("kind", sorted(HOSTILE_FILES))
def test_hostile_file_in_audit_rules_d_is_a_gap_naming_it(image: Path, kind: str) -> None:
    make, what = HOSTILE_FILES[kind]
    make(image / "etc/audit/rules.d/99-x.rules")
    code, findings = evaluate(image)
    for arch in ("b64", "b32"):
        persistent = findings[("audit", f"persistent rules {arch}")]
        assert persistent["status"] == "not_reviewed"
        assert "/etc/audit/rules.d/99-x.rules" in persistent["reason"] and what in persistent["reason"]
    assert code == 3


@pytest.mark.parametrize("kind", sorted(HOSTILE_FILES))
@pytest.mark.parametrize("where", ["unit", "drop-in"])
def test_hostile_socket_unit_or_drop_in_is_a_gap_and_the_rest_is_judged(image: Path, kind: str, where: str) -> None:
    make, what = HOSTILE_FILES[kind]
    write(image, f"{UNITS}/public.socket", unit("0.0.0.0:9000"))
    link(image, f"{ETC_UNITS}/sockets.target.wants/public.socket", f"/{UNITS}/public.socket")
    path = f"{ETC_UNITS}/x.socket" if where == "unit" else f"{ETC_UNITS}/local.socket.d/99-x.conf"
    make(image / path)
    code, findings = evaluate(image)
    collection = findings[("listeners", "listeners (collection)")]
    assert collection["status"] == "not_reviewed"
    assert f"/{path}" in collection["reason"] and what in collection["reason"]
    statuses = listener_statuses(findings)
    assert statuses["tcp 0.0.0.0:9000"] == "fail"  # still judged
    if where == "unit":
        assert statuses["tcp 127.0.0.1:8081"] == "pass"
    assert ("listeners", "listeners") not in findings  # never "no listener found"
    assert code == 1


def test_fifo_hostname_and_os_release_do_not_block(image: Path) -> None:
    for path in ("etc/hostname", "etc/os-release", "etc/machine-id"):
        _fifo(image / path)
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 0


def test_fifo_as_a_unit_directory_entry_or_wants_directory_does_not_block(image: Path) -> None:
    _fifo(image / ETC_UNITS / "multi-user.target.wants")
    _fifo(image / ETC_UNITS / "local.socket.d")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 0


# ---------------------------------------------------------------- every way a socket is started at boot

# (a link in the image's /run is not there at boot: tests/hostile/test_targets13_image_run_units.py)
ENABLEMENTS = {
    # the link in a dependency directory, as systemctl enable / preset / a package makes it
    "etc-wants": (f"{ETC_UNITS}/sockets.target.wants/wild.socket", "WantedBy=sockets.target"),
    "etc-requires": (f"{ETC_UNITS}/multi-user.target.requires/wild.socket", "RequiredBy=multi-user.target"),
    "etc-upholds": (f"{ETC_UNITS}/sockets.target.upholds/wild.socket", "UpheldBy=sockets.target"),
    "usr-wants": (f"{UNITS}/sockets.target.wants/wild.socket", "WantedBy=sockets.target"),
    "lib-wants": ("lib/systemd/system/sockets.target.wants/wild.socket", "WantedBy=sockets.target"),
    "local-wants": ("usr/local/lib/systemd/system/sockets.target.wants/wild.socket", "WantedBy=sockets.target"),
    "attached-wants": ("etc/systemd/system.attached/sockets.target.wants/wild.socket", "WantedBy=sockets.target"),
    "service-wants": (f"{ETC_UNITS}/web.service.wants/wild.socket", "WantedBy=web.service"),
}


@pytest.mark.parametrize("how", sorted(ENABLEMENTS))
def test_socket_enabled_any_way_with_a_wildcard_listener_fails(image: Path, how: str) -> None:
    where, install = ENABLEMENTS[how]
    write(image, f"{UNITS}/wild.socket", unit("0.0.0.0:9000", install))
    link(image, where, f"/{UNITS}/wild.socket")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 0.0.0.0:9000": "fail"}
    assert code == 1


PULLED_IN = {
    # an enabled service that needs the socket: systemd starts the socket with it
    "service-requires": (f"{ETC_UNITS}/multi-user.target.wants/app.service", "app.service",
                         "[Unit]\nRequires=wild.socket\n[Service]\nExecStart=/bin/true\n"),
    "service-sockets": (f"{ETC_UNITS}/multi-user.target.wants/app.service", "app.service",
                        "[Service]\nSockets=wild.socket\nExecStart=/bin/true\n"),
    # an enabled timer whose service wants the socket
    "timer-unit": (f"{ETC_UNITS}/timers.target.wants/app.timer", "app.timer",
                   "[Timer]\nOnCalendar=daily\nUnit=app-run.service\n"),
    # the default target itself, through the default.target link
    "default-target": (f"{ETC_UNITS}/default.target", "custom.target", "[Unit]\nWants=wild.socket\n"),
}


@pytest.mark.parametrize("how", sorted(PULLED_IN))
def test_disabled_socket_pulled_in_by_what_the_boot_starts_fails(image: Path, how: str) -> None:
    where, name, text = PULLED_IN[how]
    write(image, f"{UNITS}/wild.socket", unit("0.0.0.0:9000", "WantedBy=sockets.target"))  # not enabled
    write(image, f"{UNITS}/{name}", text)
    write(image, f"{UNITS}/app-run.service", "[Unit]\nWants=wild.socket\n[Service]\nExecStart=/bin/true\n")
    link(image, where, f"/{UNITS}/{name}")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 0.0.0.0:9000": "fail"}
    assert code == 1


def test_socket_enabled_through_its_alias_fails(image: Path) -> None:
    write(image, f"{UNITS}/wild.socket", unit("0.0.0.0:9000", "WantedBy=sockets.target\nAlias=other-name.socket"))
    link(image, f"{ETC_UNITS}/other-name.socket", f"/{UNITS}/wild.socket")
    link(image, f"{ETC_UNITS}/sockets.target.wants/other-name.socket", f"/{ETC_UNITS}/other-name.socket")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 0.0.0.0:9000": "fail"}
    assert code == 1


def test_linked_unit_outside_the_unit_path_enabled_fails(image: Path) -> None:
    write(image, "opt/app/app.socket", unit("[::]:9000"))  # systemctl link /opt/app/app.socket
    link(image, f"{ETC_UNITS}/app.socket", "/opt/app/app.socket")
    link(image, f"{ETC_UNITS}/sockets.target.wants/app.socket", "/opt/app/app.socket")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp [::]:9000": "fail"}
    assert code == 1


def test_installed_but_not_enabled_socket_does_not_listen(image: Path) -> None:
    # an image that has booted (see test_lead22_first_boot_presets.py for one that has not)
    write(image, "etc/machine-id", "4c4c4544004d3510804bb4c04f333333\n")
    write(image, f"{UNITS}/wild.socket", unit("0.0.0.0:9000", "UpheldBy=sockets.target"))
    # a service that would pull it in, itself disabled: nothing starts either
    write(image, f"{UNITS}/app.service", "[Unit]\nRequires=wild.socket\n[Install]\nWantedBy=multi-user.target\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 0


def test_empty_unit_file_masks_a_wildcard_socket(image: Path) -> None:
    write(image, f"{UNITS}/wild.socket", unit("0.0.0.0:9000", None))  # static: counted unless masked
    write(image, f"{ETC_UNITS}/wild.socket", "")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 0


# ---------------------------------------------------------------- every place a drop-in can change a unit

# (the image's /run holds nothing its boot reads, a tmpfs covers it: tests/hostile/test_targets13_image_run_units.py)
DROP_IN_DIRS = {
    "etc": f"{ETC_UNITS}/web-front.socket.d",
    "etc-control": "etc/systemd/system.control/web-front.socket.d",
    "etc-attached": "etc/systemd/system.attached/web-front.socket.d",
    "usr-local": "usr/local/lib/systemd/system/web-front.socket.d",
    "usr": f"{UNITS}/web-front.socket.d",
    "lib": "lib/systemd/system/web-front.socket.d",
    "type-level": f"{ETC_UNITS}/socket.d",
    "type-level-usr": f"{UNITS}/socket.d",
    "dash-prefix": f"{ETC_UNITS}/web-.socket.d",
    "alias-name": f"{ETC_UNITS}/front.socket.d",
}


@pytest.mark.parametrize("where", sorted(DROP_IN_DIRS))
def test_drop_in_moving_the_listener_to_the_wildcard_fails(image: Path, where: str) -> None:
    write(image, f"{UNITS}/web-front.socket", unit("127.0.0.1:8080"))
    link(image, f"{ETC_UNITS}/sockets.target.wants/web-front.socket", f"/{UNITS}/web-front.socket")
    link(image, f"{ETC_UNITS}/front.socket", f"/{UNITS}/web-front.socket")  # an alias (Alias=front.socket)
    write(image, f"{DROP_IN_DIRS[where]}/50-public.conf", "[Socket]\nListenStream=\nListenStream=0.0.0.0:8080\n")
    code, findings = evaluate(image)
    statuses = listener_statuses(findings)
    assert statuses["tcp 0.0.0.0:8080"] == "fail"
    assert "tcp 127.0.0.1:8080" not in statuses  # the empty ListenStream= reset the list
    assert code == 1


def test_template_drop_in_applies_to_the_enabled_instance(image: Path) -> None:
    write(image, f"{UNITS}/echo@.socket", unit("127.0.0.1:%i", "WantedBy=sockets.target"))
    link(image, f"{ETC_UNITS}/sockets.target.wants/echo@7007.socket", f"/{UNITS}/echo@.socket")
    write(image, f"{ETC_UNITS}/echo@.socket.d/50-public.conf", "[Socket]\nListenStream=\nListenStream=0.0.0.0:%i\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 0.0.0.0:7007": "fail"}
    assert code == 1


def test_a_more_specific_drop_in_of_the_same_name_wins_and_a_null_link_masks(image: Path) -> None:
    write(image, f"{UNITS}/web-front.socket", unit("127.0.0.1:8080"))
    link(image, f"{ETC_UNITS}/sockets.target.wants/web-front.socket", f"/{UNITS}/web-front.socket")
    write(image, f"{UNITS}/web-front.socket.d/50-x.conf", "[Socket]\nListenStream=0.0.0.0:1111\n")
    write(image, f"{ETC_UNITS}/web-front.socket.d/50-x.conf", "[Socket]\nListenStream=0.0.0.0:2222\n")
    write(image, f"{ETC_UNITS}/web-.socket.d/60-y.conf", "[Socket]\nListenStream=0.0.0.0:3333\n")
    link(image, f"{ETC_UNITS}/web-front.socket.d/60-y.conf", "/dev/null")
    code, findings = evaluate(image)
    statuses = listener_statuses(findings)
    assert statuses == {"tcp 127.0.0.1:8081": "pass", "tcp 127.0.0.1:8080": "pass", "tcp 0.0.0.0:2222": "fail"}
    assert code == 1


# ---------------------------------------------------------------- specifiers

def test_runtime_directory_specifier_is_a_unix_path_and_the_rest_is_judged(image: Path) -> None:
    write(image, f"{UNITS}/podman.socket", unit("%t/podman/podman.sock 0.0.0.0:9000"))
    link(image, f"{ETC_UNITS}/sockets.target.wants/podman.socket", f"/{UNITS}/podman.socket")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 0.0.0.0:9000": "fail"}
    assert status(findings, "listeners", "listeners (collection)") == "not_applicable"
    assert code == 1


def test_unknown_specifier_makes_that_value_unknown_and_the_rest_is_judged(image: Path) -> None:
    write(image, f"{UNITS}/hostbound.socket", unit("%H:9000 127.0.0.1:9001"))
    link(image, f"{ETC_UNITS}/sockets.target.wants/hostbound.socket", f"/{UNITS}/hostbound.socket")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 127.0.0.1:9001": "pass"}
    collection = findings[("listeners", "listeners (collection)")]
    assert collection["status"] == "not_reviewed"
    assert "hostbound.socket" in collection["reason"] and "%H" in collection["reason"]
    assert code == 3


# ---------------------------------------------------------------- ip_local_reserved_ports

def test_reserved_ports_not_set_is_the_kernel_default_and_is_judged(image: Path) -> None:
    write(image, f"{UNITS}/inrange.socket", unit("127.0.0.1:40000"))
    link(image, f"{ETC_UNITS}/sockets.target.wants/inrange.socket", f"/{UNITS}/inrange.socket")
    code, findings = evaluate(image)
    pool = findings[("pool", "ephemeral port pool")]
    assert pool["status"] == "pass" and pool["observed"]["reserved"] == "none"
    in_range = [f for (rule, subject), f in findings.items() if rule == "pool" and "40000" in subject]
    assert [f["status"] for f in in_range] == ["fail"]
    assert code == 1


def test_reserved_ports_set_reserves_the_listener(image: Path) -> None:
    write(image, "etc/sysctl.d/20-reserved.conf", "net.ipv4.ip_local_reserved_ports = 40000\n")
    write(image, f"{UNITS}/inrange.socket", unit("127.0.0.1:40000"))
    link(image, f"{ETC_UNITS}/sockets.target.wants/inrange.socket", f"/{UNITS}/inrange.socket")
    code, findings = evaluate(image)
    assert status(findings, "pool", "ephemeral port pool") == "pass"
    assert status(findings, "pool", "listeners in the ephemeral port range") == "pass"
    assert code == 0
