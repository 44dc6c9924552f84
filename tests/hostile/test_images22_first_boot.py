"""Hostile offline images: first boots and Also= chains that lbaudit missed.

Before: (1) /etc/machine-id "uninitialized\\r\\n" (or "uninitialized\\0...") was not a first boot to
lbaudit, which split the file at "\\n" only; PID 1 reads it with read_one_line_file(), whose
read_line() ends a line at "\\n", "\\r", "\\r\\n" or NUL, sees "uninitialized" and applies the
presets, so the image's installed socket listened on every address and passed.  (2) An Also= was
followed one step only: "a.service Also=b.service", "b.service Also=exposed.socket" with
b.service and exposed.socket disabled by presets: systemd's install_context_apply() installs each
Also= unit with its own [Install] (Also= included), so exposed.socket is enabled at first boot;
lbaudit missed it.  (3) The Also= of a unit already linked from a .wants/ directory was not
followed: preset-all installs that unit again, Also= units too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.test_offline_images import UNITS, evaluate, listener_statuses, unit, write
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

PRESETS = "usr/lib/systemd/system-preset"
EXPOSED = "tcp 0.0.0.0:9001"


@pytest.mark.parametrize("machine_id", ["uninitialized\r\n", "uninitialized\r", "uninitialized\0junk\n"],
                         ids=["crlf", "cr", "nul"])
def test_an_uninitialized_machine_id_with_another_line_end_is_a_first_boot(image: Path, machine_id: str) -> None:
    write(image, f"{UNITS}/exposed.socket", unit("0.0.0.0:9001"))
    write(image, "etc/machine-id", machine_id)
    code, findings = evaluate(image)
    assert listener_statuses(findings)[EXPOSED] == "fail"
    assert code == 1


def test_also_is_followed_through_a_chain(image: Path) -> None:
    write(image, f"{UNITS}/exposed.socket", unit("0.0.0.0:9001"))
    write(image, f"{UNITS}/a.service", "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
                                       "Also=b.service\n")
    write(image, f"{UNITS}/b.service", "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
                                       "Also=exposed.socket\n")
    write(image, f"{PRESETS}/90-site.preset", "enable a.service\ndisable *\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings)[EXPOSED] == "fail"
    assert code == 1


def test_the_also_of_a_unit_already_enabled_is_enabled_at_first_boot(image: Path) -> None:
    write(image, f"{UNITS}/exposed.socket", unit("0.0.0.0:9001"))
    write(image, f"{UNITS}/a.service", "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
                                       "Also=exposed.socket\n")
    (image / "etc/systemd/system/multi-user.target.wants").mkdir(parents=True)
    (image / "etc/systemd/system/multi-user.target.wants/a.service").symlink_to("/usr/lib/systemd/system/a.service")
    write(image, f"{PRESETS}/90-site.preset", "enable a.service\ndisable *\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings)[EXPOSED] == "fail"
    assert code == 1


def test_control_a_chain_whose_head_the_presets_disable_enables_nothing(image: Path) -> None:
    write(image, f"{UNITS}/exposed.socket", unit("0.0.0.0:9001"))
    write(image, f"{UNITS}/a.service", "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
                                       "Also=exposed.socket\n")
    write(image, f"{PRESETS}/90-site.preset", "disable *\n")
    code, findings = evaluate(image)
    assert EXPOSED not in listener_statuses(findings)
    assert code == 0


def test_a_template_is_enabled_with_the_instances_of_its_own_rule_not_an_instance_rule(image: Path) -> None:
    """Before: "enable web@8080.socket" was taken as the template's rule (instance 8080), the first to
    match; systemd skips it for the template's name and takes "enable web@.socket 9004": the image
    listened on 9004, which lbaudit never saw."""
    write(image, f"{UNITS}/web@.socket", unit("0.0.0.0:%i"))
    write(image, f"{PRESETS}/90-site.preset", "enable web@8080.socket\nenable web@.socket 9004\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 0.0.0.0:9004": "fail"}


def test_an_instance_unit_file_is_matched_by_its_templates_rule_naming_it(image: Path) -> None:
    """Before: an instance's own file (web@9005.socket) matched only rules for its own name or globs,
    so "enable web@.socket 9005" then "disable *" left it disabled; systemd's
    pattern_match_multiple_instances() matches it by the first line and enables it."""
    write(image, f"{UNITS}/web@9005.socket", unit("0.0.0.0:9005"))
    write(image, f"{PRESETS}/90-site.preset", "enable web@.socket 9005\ndisable *\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings)["tcp 0.0.0.0:9005"] == "fail"


def test_instances_after_a_name_that_is_no_template_make_the_line_void(image: Path) -> None:
    """systemd refuses "enable *.socket 9006" (instances are for a template only) and reads on:
    lbaudit had taken it as the first rule, with instance 9006, instead of DefaultInstance=9007."""
    write(image, f"{UNITS}/web@.socket", unit("0.0.0.0:%i", "WantedBy=sockets.target\nDefaultInstance=9007"))
    write(image, f"{PRESETS}/90-site.preset", "enable *.socket 9006\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 0.0.0.0:9007": "fail"}


def test_a_caret_set_negates_as_in_glibc_fnmatch(image: Path) -> None:
    """Before: "disable [^e]*" (every unit not starting with e) was read by Python's fnmatch as a set
    of '^' and 'e', so it disabled exposed.socket; systemd (glibc fnmatch) enables it."""
    write(image, f"{UNITS}/exposed.socket", unit("0.0.0.0:9001"))
    write(image, f"{PRESETS}/90-site.preset", "disable [^e]*\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings)[EXPOSED] == "fail"
    assert code == 1
