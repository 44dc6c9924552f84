"""Typed gap paths (issue 9, item 6): a gap says where inside its section as parts, checks read the
parts, not the string, and one helper builds every JSON pointer.

Hostile side: a snapshot whose ``path`` and ``field`` disagree is refused (exit 2), a sysctl key
holding ``/`` or ``~`` stays one pointer token, and gaps written before ``path`` existed still load
and still decide the same findings.
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.errors import InputError
from auditor.model.base import json_pointer
from auditor.model.facts import Gap, HostSnapshot, ProcessInfo, SysctlSetting, parse_gap_field
from auditor.model.result import Status
from auditor.storage.jsonfile import _pointer as validation_pointer
from auditor.storage.snapshot import parse_snapshot, snapshot_bytes
from tests.factories import listener, snapshot, sysctl_facts


def test_json_pointer_escapes_each_part_as_one_token():
    # RFC 6901 section 3: "~" is "~0" and "/" is "~1", in that order
    assert json_pointer("facts", "sysctl", "runtime", "a/b~c") == "/facts/sysctl/runtime/a~1b~0c"
    assert json_pointer("facts", "audit", "loaded_rules", 3) == "/facts/audit/loaded_rules/3"
    assert json_pointer() == ""
    assert json_pointer("~1") == "/~01"  # not "/~1": an escaped slash must not come back as one
    assert validation_pointer(("gaps", 0, "a/b")) == "/gaps/0/a~1b"


def test_a_gap_field_is_read_as_its_parts():
    assert parse_gap_field("") == ()
    assert parse_gap_field("listeners/3/processes/0/exe") == ("listeners", 3, "processes", 0, "exe")
    assert parse_gap_field("runtime/net.ipv4.tcp_fin_timeout") == ("runtime", "net.ipv4.tcp_fin_timeout")
    # digits other than ASCII, and a number too long to be an index, stay text
    assert parse_gap_field("listeners/\u0663") == ("listeners", "\u0663")
    assert parse_gap_field("listeners/1234567890") == ("listeners", "1234567890")


def test_gaps_without_a_path_as_older_snapshots_wrote_them_still_load():
    old = Gap.model_validate_json('{"section": "sockets", "field": "listeners/2/v6only", "reason": "r"}')
    assert old.path == ("listeners", 2, "v6only")
    whole = Gap.model_validate({"section": "audit", "reason": "r"})
    assert (whole.field, whole.path) == ("", ())
    new = Gap(section="sysctl", path=("runtime", "net.ipv4.tcp_tw_reuse"), reason="r")
    assert new.field == "runtime/net.ipv4.tcp_tw_reuse"
    assert Gap.model_validate_json(new.model_dump_json()) == new


def test_a_gap_whose_path_and_field_disagree_is_refused():
    with pytest.raises(ValidationError, match="is not the field"):
        Gap(section="sockets", field="listeners/0/processes", path=("listeners", 1, "processes"), reason="r")
    # a snapshot file that says two things about one gap is exit 2, not judged on either
    good = snapshot(listeners=[listener("127.0.0.1", 80)],
                    gaps=[Gap(section="sockets", path=("listeners", 0, "processes"), reason="permission denied")])
    data = json.loads(snapshot_bytes(good))
    data["gaps"][0]["path"] = ["listeners", 0, "v6only"]
    with pytest.raises(InputError) as info:
        parse_snapshot(json.dumps(data).encode(), "edited.json")
    assert "is not the field" in info.value.render()


def test_an_old_snapshot_without_paths_judges_the_same_as_a_new_one():
    """The same snapshot written with and without ``path``: the same findings."""
    hidden = listener("0.0.0.0", 22, processes=[ProcessInfo(pid=600, name="sshd", exe=None)])
    new = snapshot(listeners=[hidden], gaps=[
        Gap(section="sockets", path=("listeners", 0, "processes", 0, "exe"), reason="exe of pid 600: permission denied")])
    data = json.loads(snapshot_bytes(new))
    for gap in data["gaps"]:
        del gap["path"]
    old = parse_snapshot(json.dumps(data).encode(), "old.json")
    assert old.gaps == new.gaps
    assert old.facts_digest() == new.facts_digest()
    params = BindAddressParams(exceptions=[{"match": {"exe": "/usr/sbin/sshd"}, "allow": ["any"], "reason": "ssh"}])
    outcomes = [net_bind_addresses.run(s, params) for s in (old, new)]
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0].status == Status.NOT_REVIEWED
    assert "details of the owning process could not be read: exe of pid 600: permission denied" in outcomes[0][0].reason


def test_a_process_detail_gap_is_found_by_its_parts():
    """Listener 1's holder gap and listener 0's detail gap each reach their own listener only."""
    quiet = listener("127.0.0.1", 80, processes=[ProcessInfo(pid=7, name="web", exe=None)])
    shared = listener("0.0.0.0", 443, processes=[ProcessInfo(pid=8, name="proxy", exe="/usr/bin/proxy")])
    snap = snapshot(listeners=[quiet, shared], gaps=[
        Gap(section="sockets", path=("listeners", 0, "processes", 0, "exe"), reason="exe of pid 7: gone"),
        Gap(section="sockets", path=("listeners", 1, "processes"), reason="pid 9 fd unreadable"),
    ])
    params = BindAddressParams(exceptions=[{"match": {"exe": "/opt/*"}, "allow": ["any"], "reason": "vendor"}])
    by_port = {o.subject.split(":")[1].split()[0]: o for o in net_bind_addresses.run(snap, params)}
    # loopback is allowed whichever rule applies; the message names listener 0's missing detail only
    assert by_port["80"].status == Status.PASS
    assert "exe of pid 7: gone" in by_port["80"].message and "pid 9" not in by_port["80"].message
    # an unseen holder of 443 might match the exception: the rules disagree, so it is not reviewed
    assert by_port["443"].status == Status.NOT_REVIEWED
    assert "the processes seen holding it may not be all of them: pid 9 fd unreadable" in by_port["443"].reason
    assert "exe of pid 7" not in by_port["443"].reason


def test_a_key_holding_a_slash_is_one_pointer_token_in_the_evidence():
    key = "net.ipv4.ip_local_port_range"
    facts = sysctl_facts().model_copy(update={
        "persistent": {key: SysctlSetting(value="1 2", origin="/etc/sysctl.d/a~b/x.conf:1")}})
    outcomes = drift_sysctl.run(snapshot(sysctl=facts), DriftSysctlParams())
    drifted = [o for o in outcomes if o.status == Status.FAIL]
    assert drifted and drifted[0].evidence == [json_pointer("facts", "sysctl", "runtime", key),
                                               json_pointer("facts", "sysctl", "persistent", key)]


def test_gaps_for_a_field_match_by_parts_not_by_text_prefix():
    snap = HostSnapshot.model_validate(json.loads(snapshot_bytes(snapshot(gaps=[
        Gap(section="sysctl", path=("runtime", "net.ipv4.tcp_fin_timeout"), reason="a"),
        Gap(section="sysctl", path=("runtime_extra",), reason="b"),
        Gap(section="sysctl", reason="c"),
    ]))))
    assert sorted(g.reason for g in snap.gaps_for("sysctl", "runtime")) == ["a", "c"]
