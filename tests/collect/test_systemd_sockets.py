"""Declared listeners from systemd socket units on the fixture root tests/fixtures/roots/socket-units.

Enablement links, the /dev/null mask and the escaping links are made by the test on a tmp_path copy.
Where systemctl exists, its offline view (``systemctl --root list-unit-files``) of which units are
enabled, static, disabled or masked is compared with the units the collector counts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.collect import CollectContext
from auditor.collect.sockets import collect_sockets
from auditor.collect.systemd_sockets import (
    ListenAddress,
    ListenValueError,
    active_socket_units,
    declared_listeners,
    parse_listen_address,
    parse_unit_file,
)
from auditor.model.facts import GapKind
from tests.factories import install_procps_boot

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "roots" / "socket-units"
SYSTEMCTL = next((p for p in ("/usr/bin/systemctl", "/bin/systemctl") if os.access(p, os.X_OK)), None)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    image = tmp_path / "image"
    shutil.copytree(FIXTURE, image, symlinks=True)
    wants = image / "etc/systemd/system/sockets.target.wants"
    wants.mkdir(parents=True)
    os.symlink("/usr/lib/systemd/system/web.socket", wants / "web.socket")
    os.symlink("/etc/systemd/system/metrics.socket", wants / "metrics.socket")
    os.symlink("/usr/lib/systemd/system/echo@.socket", wants / "echo@2.socket")
    os.symlink("/dev/null", image / "etc/systemd/system/masked.socket")
    # an image that has booted: its first boot's presets (which would enable disabled.socket) are behind it
    (image / "etc/machine-id").write_text("4c4c4544004d3510804bb4c04f333333\n")
    return image


def _summary(listeners):
    return [(l.protocol, l.family, l.address, l.port, l.v6only, l.interface, l.declared_by) for l in listeners]


def test_declared_listeners_of_enabled_and_static_units(root: Path) -> None:
    listeners, gaps = declared_listeners(root)
    assert gaps == []
    assert _summary(listeners) == [
        # the /etc copy replaces the vendor metrics.socket ([::1]:9100 ipv6-only never appears)
        ("tcp", "ipv4", "0.0.0.0", 9100, None, None, "/etc/systemd/system/metrics.socket"),
        ("tcp", "ipv4", "127.0.0.1", 8080, None, None, "/usr/lib/systemd/system/web.socket"),
        # template instance echo@2.socket, %i expanded
        ("tcp", "ipv4", "127.0.0.2", 7, None, None, "/usr/lib/systemd/system/echo@.socket"),
        # ListenStream=80 means [::]:80; BindIPv6Only=both makes it dual-stack
        ("tcp", "ipv6", "::", 80, False, None, "/usr/lib/systemd/system/web.socket"),
        ("tcp", "ipv6", "::", 443, False, None, "/usr/lib/systemd/system/web.socket"),
        # the drop-in reset the static unit's list; BindIPv6Only=default follows bindv6only (0)
        ("tcp", "ipv6", "fe80::1", 6001, False, "eth0", "/etc/systemd/system/static.socket.d/override.conf"),
        ("udp", "ipv4", "0.0.0.0", 5353, None, None, "/usr/lib/systemd/system/web.socket"),
    ]
    assert all(l.processes == [] and l.owner_reason for l in listeners)
    assert "declared by /usr/lib/systemd/system/web.socket" in listeners[1].subject


def test_configured_bindv6only_makes_default_sockets_ipv6_only(root: Path) -> None:
    (root / "etc/sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc/sysctl.d/60-v6.conf").write_text("net.ipv6.bindv6only = 1\n")
    facts, _ = collect_sockets(CollectContext(root=root, live=False))
    by_port = {l.port: l for l in facts.listeners}
    assert by_port[6001].v6only is True  # BindIPv6Only=default
    assert by_port[80].v6only is False  # BindIPv6Only=both wins over the system default


def test_offline_sockets_section_has_declared_listeners_and_no_counts(root: Path) -> None:
    facts, gaps = collect_sockets(CollectContext(root=root, live=False))
    assert facts is not None and facts.counts is None
    assert len(facts.listeners) == 7
    assert {(g.field, g.kind) for g in gaps} == {("listeners", GapKind.NOT_APPLICABLE), ("counts", GapKind.NOT_APPLICABLE)}


def test_disabled_and_masked_units_do_not_listen(root: Path) -> None:
    names = sorted(unit.name for unit, _ in active_socket_units(root)[0])
    assert names == ["bus.socket", "echo@2.socket", "metrics.socket", "static.socket", "web.socket"]
    os.unlink(root / "etc/systemd/system/masked.socket")
    ports = {l.port for l in declared_listeners(root)[0]}
    assert 7777 in ports and 2222 not in ports  # unmasked static unit counts; disabled one still not


@pytest.mark.skipif(SYSTEMCTL is None, reason="systemctl is not installed")
@pytest.mark.live
def test_units_counted_match_systemctl_unit_file_states(root: Path) -> None:
    proc = subprocess.run(
        [SYSTEMCTL, f"--root={root}", "list-unit-files", "--type=socket", "--no-legend", "--no-pager"],
        capture_output=True, text=True, timeout=30, check=True,
    )
    states = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines() if line.strip()}
    assert states["disabled.socket"] == "disabled" and states["masked.socket"] == "masked"
    expected = {name for name, state in states.items() if state in ("enabled", "static") and "@" not in name}
    counted = {unit.name for unit, instance in active_socket_units(root)[0] if instance is None}
    assert counted == expected
    assert states["echo@.socket"] == "indirect"  # counted through its enabled instance
    assert [u.name for u, i in active_socket_units(root)[0] if i is not None] == ["echo@2.socket"]


def test_escaping_unit_links_are_resolved_inside_the_root(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = outside / "evil.socket"
    evil.write_text("[Socket]\nListenStream=0.0.0.0:31337\n")
    twin = root / str(evil).lstrip("/")
    twin.parent.mkdir(parents=True)
    twin.write_text("[Socket]\nListenStream=127.0.0.1:31338\n")
    os.symlink(str(evil), root / "etc/systemd/system/evil.socket")  # absolute
    dropins = root / "etc/systemd/system/web.socket.d"
    dropins.mkdir()
    evil_dropin = outside / "extra.conf"
    evil_dropin.write_text("[Socket]\nListenStream=0.0.0.0:31339\n")
    os.symlink("../" * 30 + str(evil_dropin).lstrip("/"), dropins / "extra.conf")  # climbing with ..
    dropin_twin = root / str(evil_dropin).lstrip("/")
    dropin_twin.write_text("[Socket]\nListenStream=127.0.0.1:31340\n")

    listeners, gaps = declared_listeners(root)
    assert gaps == []
    ports = {l.port: l for l in listeners}
    assert 31337 not in ports and 31339 not in ports
    assert ports[31338].declared_by == "/etc/systemd/system/evil.socket"
    assert ports[31340].declared_by == "/etc/systemd/system/web.socket.d/extra.conf"


def test_unreadable_unit_fails_closed(root: Path) -> None:
    (root / "usr/lib/systemd/system/broken.socket").write_text("[Socket]\nListenStream=web.example:80\n")
    listeners, gaps = declared_listeners(root)
    # the broken unit may listen anywhere: a gap names it; the units that were read are still judged
    assert {l.port for l in listeners} == {80, 443, 5353, 7, 8080, 9100, 6001}
    assert [(g.field, g.kind) for g in gaps] == [("listeners", GapKind.UNREADABLE)]
    assert "broken.socket" in gaps[0].reason and "web.example:80" in gaps[0].reason


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("80", ListenAddress("ipv6", "::", 80)),
        ("[::]:443", ListenAddress("ipv6", "::", 443)),
        ("127.0.0.1:8080", ListenAddress("ipv4", "127.0.0.1", 8080)),
        ("0.0.0.0:53", ListenAddress("ipv4", "0.0.0.0", 53)),
        ("[::ffff:127.0.0.1]:25", ListenAddress("ipv6", "::ffff:127.0.0.1", 25)),
        ("[fe80::1]:22%eth0", ListenAddress("ipv6", "fe80::1", 22, "eth0")),
        ("[2001:DB8:0::1]:22", ListenAddress("ipv6", "2001:db8::1", 22)),
        ("/run/foo.sock", None),
        ("@abstract", None),
        ("vsock:2:1234", None),
    ],
)
def test_listen_address_forms(value: str, parsed: ListenAddress | None) -> None:
    assert parse_listen_address(value) == parsed


@pytest.mark.parametrize("value", ["0", "65536", "host:80", "[::1]", "[nothex]:1", "1.2.3.4:x"])
def test_listen_addresses_systemd_rejects(value: str) -> None:
    with pytest.raises(ListenValueError):
        parse_listen_address(value)


def test_unit_file_sections_comments_and_continuations() -> None:
    entries = parse_unit_file("[Socket]\n# ListenStream=1\n; ListenStream=2\nListenStream=\\\n  127.0.0.1:9\n[Install]\nWantedBy=x\n")
    assert [(e.section, e.key, e.value, e.line) for e in entries] == [
        ("Socket", "ListenStream", "127.0.0.1:9", 4),
        ("Install", "WantedBy", "x", 7),
    ]


@pytest.mark.skipif(SYSTEMCTL is None, reason="systemctl is not installed")
@pytest.mark.live
def test_units_counted_on_this_hosts_own_tree_match_systemctl():
    proc = subprocess.run(
        [SYSTEMCTL, "--root=/", "list-unit-files", "--type=socket", "--no-legend", "--no-pager"],
        capture_output=True, text=True, timeout=30, check=True,
    )
    states = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines() if line.strip()}
    expected = {name for name, state in states.items() if state in ("enabled", "static") and "@" not in name}
    units, problems = active_socket_units(Path("/"))
    assert problems == []
    assert {unit.name for unit, instance in units if instance is None} == expected


# ---------------------------------------------------------------- differential: systemd's own offline view

SYSTEMD_ANALYZE = next((p for p in ("/usr/bin/systemd-analyze", "/bin/systemd-analyze") if os.access(p, os.X_OK)), None)
# systemctl is-enabled states of a unit the next boot starts (static: may be pulled in, counted).
STARTED_STATES = {"enabled", "enabled-runtime", "static"}


def _write(root: Path, path: str, text: str) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text)


def _link(root: Path, path: str, target: str) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, root / path)


def _enablement_image(root: Path) -> list[str]:
    """Socket units enabled, disabled, masked, aliased and linked every way the unit search path
    allows; returns the unit names to ask systemctl about."""
    usr, etc = "usr/lib/systemd/system", "etc/systemd/system"
    body = "[Socket]\nListenStream=127.0.0.1:{port}\n"
    wanted = "[Install]\nWantedBy=sockets.target\n"
    names = {
        "etc-wants": f"{etc}/sockets.target.wants", "etc-requires": f"{etc}/multi-user.target.requires",
        "svc-wants": f"{etc}/web.service.wants", "run-wants": "run/systemd/system/sockets.target.wants",
        "usr-wants": f"{usr}/sockets.target.wants", "local-wants": "usr/local/lib/systemd/system/sockets.target.wants",
        "lib-wants": "lib/systemd/system/sockets.target.wants", "attached-wants": "etc/systemd/system.attached/sockets.target.wants",
        "control-wants": "etc/systemd/system.control/sockets.target.wants",
    }
    for port, (name, directory) in enumerate(sorted(names.items()), start=1000):
        _write(root, f"{usr}/{name}.socket", body.format(port=port) + wanted)
        _link(root, f"{directory}/{name}.socket", f"/{usr}/{name}.socket")
    _write(root, f"{usr}/disabled.socket", body.format(port=2000) + wanted)
    _write(root, f"{usr}/static.socket", body.format(port=2001))
    _write(root, "lib/systemd/system/lib-static.socket", body.format(port=2002))
    _write(root, f"{usr}/masked-null.socket", body.format(port=2003) + wanted)
    _link(root, f"{etc}/masked-null.socket", "/dev/null")
    _write(root, f"{usr}/masked-empty.socket", body.format(port=2004))
    _write(root, f"{etc}/masked-empty.socket", "")
    _write(root, f"{usr}/aliased.socket", body.format(port=2005) + wanted + "Alias=other.socket\n")
    _link(root, f"{etc}/other.socket", f"/{usr}/aliased.socket")  # an alias alone starts nothing
    _write(root, f"{usr}/via-alias.socket", body.format(port=2006) + wanted + "Alias=nick.socket\n")
    _link(root, f"{etc}/nick.socket", f"/{usr}/via-alias.socket")
    _link(root, f"{etc}/sockets.target.wants/nick.socket", f"/{etc}/nick.socket")
    _write(root, "opt/linked.socket", body.format(port=2007) + wanted)
    _link(root, f"{etc}/linked.socket", "/opt/linked.socket")  # systemctl link: linked, not enabled
    _write(root, "opt/linked-on.socket", body.format(port=2008) + wanted)
    _link(root, f"{etc}/linked-on.socket", "/opt/linked-on.socket")
    _link(root, f"{etc}/sockets.target.wants/linked-on.socket", "/opt/linked-on.socket")
    _write(root, f"{usr}/tmpl@.socket", "[Socket]\nListenStream=127.0.0.1:%i\n" + wanted + "DefaultInstance=3000\n")
    _link(root, f"{etc}/sockets.target.wants/tmpl@3000.socket", f"/{usr}/tmpl@.socket")
    _write(root, f"{usr}/tmpl-off@.socket", "[Socket]\nListenStream=127.0.0.1:%i\n" + wanted)
    return sorted({*(f"{n}.socket" for n in names), "disabled.socket", "static.socket", "lib-static.socket",
                   "masked-null.socket", "masked-empty.socket", "aliased.socket", "via-alias.socket",
                   "linked.socket", "linked-on.socket", "tmpl@3000.socket", "tmpl-off@4000.socket"})


@pytest.mark.skipif(SYSTEMCTL is None, reason="systemctl is not installed")
@pytest.mark.live
def test_started_units_match_systemctl_is_enabled_for_every_enablement(tmp_path: Path) -> None:
    root = tmp_path / "image"
    names = _enablement_image(root)
    states = {}
    for name in names:
        proc = subprocess.run([SYSTEMCTL, f"--root={root}", "is-enabled", name],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        states[name] = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr.strip()
    units, problems = active_socket_units(root)
    assert problems == []
    started = {unit.name for unit, _ in units}
    # systemctl (install.c) looks for enablement links only in /etc and /run; PID 1 at boot reads the
    # .wants/ of every unit directory (vendors ship /usr/lib/systemd/system/sockets.target.wants/),
    # so these listen at boot although systemctl calls them disabled: lbaudit counts them.
    beyond_systemctl = {"usr-wants.socket", "lib-wants.socket", "local-wants.socket", "attached-wants.socket",
                        "control-wants.socket"}
    expected = {name for name, state in states.items() if state in STARTED_STATES} | beyond_systemctl
    assert started == expected, states
    assert {states[name] for name in beyond_systemctl} == {"disabled"}  # the difference is systemctl's
    # the reference agrees on the cases that make the difference
    assert states["masked-empty.socket"] == "masked" and states["linked.socket"] == "linked"
    assert states["aliased.socket"] == "enabled"  # an Alias= link counts as enablement
    assert states["tmpl@3000.socket"] == "enabled" and states["tmpl-off@4000.socket"] == "disabled"


def _marked_dropin_image(root: Path) -> dict[str, list[str]]:
    """Units whose every file (unit file and drop-ins) holds one ListenStream= value that systemd
    rejects with a warning naming file and line: the warnings show which files systemd applied.
    Returns, per unit, the drop-in files written for it."""
    usr, etc = "usr/lib/systemd/system", "etc/systemd/system"
    files = {
        "web-front-end.socket": [f"{usr}/web-front-end.socket", f"{etc}/web-front-end.socket.d/10-a.conf",
                                 f"{usr}/web-front-.socket.d/20-b.conf", f"{etc}/web-.socket.d/30-c.conf",
                                 f"{usr}/web-.socket.d/30-c.conf",  # hidden by the /etc file of the same name
                                 "etc/systemd/system.attached/web-front-end.socket.d/40-d.conf",
                                 "run/systemd/system/web-front-end.socket.d/50-e.conf",
                                 "usr/local/lib/systemd/system/web-front-end.socket.d/60-f.conf",
                                 "etc/systemd/system.control/web-front-end.socket.d/70-g.conf",
                                 "run/systemd/system.control/web-front-end.socket.d/71-g.conf",
                                 f"{etc}/socket.d/80-h.conf", f"{usr}/socket.d/90-i.conf",
                                 "lib/systemd/system/web-front-end.socket.d/95-j.conf"],
        "pool@blue.socket": [f"{usr}/pool@.socket", f"{etc}/pool@.socket.d/10-t.conf",
                             f"{etc}/pool@blue.socket.d/10-t.conf",  # the instance's own file wins
                             f"{usr}/pool@blue.socket.d/20-u.conf"],
    }
    for number, path in enumerate(sorted({p for paths in files.values() for p in paths})):
        _write(root, path, f"[Socket]\nListenStream=bogus:{number}\n")
    _link(root, f"{etc}/sockets.target.wants/pool@blue.socket", f"/{usr}/pool@.socket")
    _link(root, f"{etc}/socket.d/85-masked.conf", "/dev/null")
    _write(root, f"{usr}/socket.d/85-masked.conf", "[Socket]\nListenStream=bogus:masked\n")
    return files


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.live
@pytest.mark.integration  # runs systemd-analyze
def test_drop_ins_applied_match_systemd_analyze_verify(tmp_path: Path) -> None:
    root = tmp_path / "image"
    files = _marked_dropin_image(root)
    loaded = {unit.name: unit for unit, _ in active_socket_units(root)[0]}
    for name in files:
        proc = subprocess.run([SYSTEMD_ANALYZE, f"--root={root}", "--man=no", "--generators=no", "verify", name],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        parsed = re.findall(rf"^{re.escape(str(root))}(/\S+):\d+: Failed to parse address value", proc.stderr + proc.stdout, re.M)
        assert parsed, proc.stderr  # systemd read the unit at all
        assert loaded[name].sources == parsed, name
    # lbaudit and systemd agree; these are the cases that decide it
    sources = loaded["web-front-end.socket"].sources
    assert "/etc/systemd/system/web-.socket.d/30-c.conf" in sources
    assert "/usr/lib/systemd/system/web-.socket.d/30-c.conf" not in sources
    assert not any(s.endswith("85-masked.conf") for s in sources)
    assert loaded["pool@blue.socket"].sources[1] == "/etc/systemd/system/pool@blue.socket.d/10-t.conf"


@pytest.mark.parametrize("lines, expected", [
    ("ListenDatagram=0.0.0.0:5004\nSocketProtocol=udplite\n", [("udplite", "0.0.0.0", 5004)]),
    ("ListenStream=0.0.0.0:3868\nSocketProtocol=sctp\n", [("sctp", "0.0.0.0", 3868)]),
    ("ListenStream=127.0.0.1:8443\nSocketProtocol=mptcp\n", [("mptcp", "127.0.0.1", 8443)]),
    # a protocol that fits no Listen line is left alone (systemd would fail to open the socket)
    ("ListenStream=0.0.0.0:7000\nSocketProtocol=udplite\n", [("tcp", "0.0.0.0", 7000)]),
])
def test_socket_protocol_names_the_transport_of_declared_listeners(root: Path, lines: str, expected) -> None:
    unit = root / "usr/lib/systemd/system/transport.socket"
    unit.write_text("[Socket]\n" + lines + "\n[Install]\nWantedBy=sockets.target\n")
    os.symlink("/usr/lib/systemd/system/transport.socket", root / "etc/systemd/system/sockets.target.wants/transport.socket")
    listeners, gaps = declared_listeners(root)
    assert gaps == []
    assert [(l.protocol, l.address, l.port) for l in listeners if l.declared_by == "/usr/lib/systemd/system/transport.socket"] == expected
