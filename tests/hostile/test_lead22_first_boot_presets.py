"""Hostile offline images: socket units that the image's first boot enables by its presets.

An image that has not booted yet (no /etc/machine-id, or one that says "uninitialized") is
enabled further when it first boots: PID 1 applies the presets (``systemctl preset-all``,
systemd.preset(5)), which enable every unit with an ``[Install]`` section unless a preset line
disables it (no line at all enables it).  lbaudit counted only the units linked from a ``.wants/``
directory, so an image that shipped ``exposed.socket`` (``ListenStream=0.0.0.0:9001``,
``WantedBy=sockets.target``) without its link passed ``evaluate --root`` with "no listener on a
wildcard address", and the booted machine listened on every address.  Now such units count
unless the image has booted before (a machine ID set) or its presets disable them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.collect.systemd_sockets import PresetRule, parse_preset_file, preset_for
from tests.hostile.test_offline_images import UNITS, evaluate, listener_statuses, unit, write
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

PRESETS = "usr/lib/systemd/system-preset"
MACHINE_ID = "4c4c4544004d3510804bb4c04f333333\n"
EXPOSED = "tcp 0.0.0.0:9001"


def _ship_exposed_socket(image: Path) -> None:
    write(image, f"{UNITS}/exposed.socket", unit("0.0.0.0:9001"))  # installed, not linked


@pytest.mark.parametrize("machine_id", [None, "uninitialized\n"], ids=["missing", "uninitialized"])
def test_an_installed_socket_unit_of_an_image_not_booted_yet_listens_at_its_first_boot(
        image: Path, machine_id: str | None) -> None:
    _ship_exposed_socket(image)
    if machine_id is not None:
        write(image, "etc/machine-id", machine_id)
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", EXPOSED: "fail"}
    assert code == 1


@pytest.mark.parametrize("machine_id", [MACHINE_ID, "", "uninitialized \n"], ids=["set", "empty", "other-text"])
def test_control_an_image_that_has_booted_keeps_its_installed_socket_unit_disabled(
        image: Path, machine_id: str) -> None:
    """An empty machine-id is not a first boot either (systemd makes the ID, applies no presets)."""
    _ship_exposed_socket(image)
    write(image, "etc/machine-id", machine_id)
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 0


def test_a_preset_that_disables_the_unit_keeps_it_from_listening(image: Path) -> None:
    _ship_exposed_socket(image)
    write(image, f"{PRESETS}/90-site.preset", "# site policy\ndisable exposed.socket\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 0


def test_the_first_matching_preset_line_wins_across_files_in_name_order(image: Path) -> None:
    _ship_exposed_socket(image)
    write(image, f"{PRESETS}/99-default.preset", "disable *\n")
    write(image, f"{PRESETS}/50-web.preset", "enable exposed.*\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings)[EXPOSED] == "fail"
    assert code == 1


def test_a_preset_in_etc_overrides_the_vendor_file_of_the_same_name(image: Path) -> None:
    _ship_exposed_socket(image)
    write(image, f"{PRESETS}/90-site.preset", "disable exposed.socket\n")
    write(image, "etc/systemd/system-preset/90-site.preset", "enable exposed.socket\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings)[EXPOSED] == "fail"


def test_a_service_enabled_at_first_boot_enables_the_socket_it_names_in_also(image: Path) -> None:
    _ship_exposed_socket(image)
    write(image, f"{UNITS}/exposed.service", "[Service]\nExecStart=/bin/true\n[Install]\n"
                                             "WantedBy=multi-user.target\nAlso=exposed.socket\n")
    write(image, f"{PRESETS}/90-site.preset", "disable exposed.socket\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings)[EXPOSED] == "fail"


def test_a_template_socket_listens_through_the_instances_its_preset_names(image: Path) -> None:
    write(image, f"{UNITS}/web@.socket", unit("0.0.0.0:9002"))
    write(image, f"{PRESETS}/90-site.preset", "enable web@.socket blue\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings)["tcp 0.0.0.0:9002"] == "fail"
    assert code == 1


def test_a_template_without_instances_or_default_instance_is_not_enabled(image: Path) -> None:
    write(image, f"{UNITS}/web@.socket", unit("0.0.0.0:9002"))
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 0


def test_a_machine_id_that_cannot_be_read_leaves_the_listeners_not_reviewed(image: Path) -> None:
    _ship_exposed_socket(image)
    (image / "etc/machine-id").mkdir(parents=True)
    code, findings = evaluate(image)
    assert listener_statuses(findings)[EXPOSED] == "fail"  # counted (the wider exposure)
    assert code in (1, 3)
    assert any(f["status"] == "not_reviewed" and "machine-id" in f["message"] for f in findings.values())


def test_preset_lines_are_read_as_systemd_reads_them() -> None:
    rules = parse_preset_file("; comment\n  enable  foo@.socket a  b \nenablefoo.socket\ndisable bar baz\n"
                              "ignore q.*\nbogus x\nenable\n", "/p")
    # "ignore" is a rule of newer systemd only, a line older ones skip: skipped (the wider exposure)
    assert rules == [PresetRule("enable", "foo@.socket", ("a", "b"), "/p:2"),
                     PresetRule("disable", "bar baz", (), "/p:4"),
                     PresetRule("enable", "", (), "/p:7")]
    assert preset_for(rules, "bar") == (None, ())  # "disable bar baz" names the unit "bar baz"
    assert preset_for(rules, "q.socket") == (None, ())
    assert preset_for(rules, "Q.socket") == (None, ())  # case matters, as for fnmatch(3)
    assert preset_for(rules, "foo@.socket") == (rules[0], ("a", "b"))
    # systemd's query_presets(): "enable web@green.socket" names no instances, and fnmatch() does
    # not match the template's name with it: no rule for web@.socket (images22)
    instance_rule = parse_preset_file("enable web@green.socket\n", "/q")
    assert preset_for(instance_rule, "web@.socket") == (None, ())


def test_a_preset_line_for_one_instance_does_not_match_the_template(image: Path) -> None:
    """preset-all visits the template's file name, web@.socket: "enable web@green.socket" is no rule
    for it (systemd's query_presets()), "disable *" is (images22: lbaudit had enabled web@green)."""
    write(image, f"{UNITS}/web@.socket", unit("0.0.0.0:9002"))
    write(image, f"{PRESETS}/90-site.preset", "enable web@green.socket\ndisable *\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 0


def test_a_template_enabled_without_instances_uses_its_default_instance(image: Path) -> None:
    write(image, f"{UNITS}/web@.socket", unit("0.0.0.0:9002", "WantedBy=sockets.target\nDefaultInstance=main"))
    code, findings = evaluate(image)
    assert listener_statuses(findings)["tcp 0.0.0.0:9002"] == "fail"


def test_a_preset_file_that_cannot_be_read_leaves_the_listeners_not_reviewed(image: Path) -> None:
    """It may hold the line that enables a template's instance: the template alone is not enabled."""
    write(image, f"{UNITS}/web@.socket", unit("0.0.0.0:9002"))
    (image / PRESETS).mkdir(parents=True)
    # a link to a file of a mount the image does not carry (a directory would be skipped, as systemd skips it)
    (image / PRESETS / "90-site.preset").symlink_to("/mnt/site/90-site.preset")
    code, findings = evaluate(image)
    assert code == 3
    assert any(f["status"] == "not_reviewed" and "preset" in f["message"] for f in findings.values())


def test_an_ignore_line_leaves_the_unit_to_later_lines_as_older_systemd_does(image: Path) -> None:
    """Older systemd skips an "ignore" line, so the default enables the unit: counted (the wider exposure)."""
    _ship_exposed_socket(image)
    write(image, f"{PRESETS}/90-site.preset", "ignore exposed.socket\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings)[EXPOSED] == "fail"
