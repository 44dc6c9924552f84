"""The facts of an evidence or snapshot file and of its digest are dumped with ``facts_json``: the
host's listeners built directly instead of through pydantic's dump (issue 16).  It must be
``Facts.model_dump(mode="json")`` exactly, for listeners with and without processes, shared
processes, recorded command lines, and facts without a listener list."""

from __future__ import annotations

import json

from auditor.model.base import digest_of
from auditor.model.facts import (
    _GAP_FIELDS,
    _LISTENER_FIELDS,
    _PROCESS_FIELDS,
    Facts,
    Gap,
    GapKind,
    Listener,
    ProcessInfo,
    SocketFacts,
    facts_json,
    gap_at,
    gap_json,
)
from auditor.storage.evidence import evidence_bytes
from auditor.storage.snapshot import snapshot_bytes
from tests.evidence_fixtures import make_evidence, make_snapshot


def test_it_knows_every_field_of_a_listener_and_a_process() -> None:
    # A field it did not know would make every dump fall back to pydantic's slower one.
    assert tuple(Listener.model_fields) == _LISTENER_FIELDS
    assert tuple(ProcessInfo.model_fields) == _PROCESS_FIELDS
    assert tuple(Gap.model_fields) == _GAP_FIELDS


def test_the_facts_of_a_snapshot_are_dumped_as_pydantic_dumps_them() -> None:
    snapshot = make_snapshot(extra_listeners=5)
    assert facts_json(snapshot.facts) == snapshot.facts.model_dump(mode="json")
    assert list(facts_json(snapshot.facts)) == list(snapshot.facts.model_dump(mode="json"))


def test_shared_processes_command_lines_and_unowned_listeners() -> None:
    shared = ProcessInfo(pid=7, name="nginx", exe="/usr/sbin/nginx", user="www", argv0="nginx",
                         cmdline_sha256="0" * 64, cmdline=["nginx", "-g", "daemon off;"])
    listeners = [
        Listener(protocol="tcp", family="ipv4", address="0.0.0.0", port=80, uid=0, user="root", inode=1,
                 processes=[shared, ProcessInfo(pid=8)]),
        Listener(protocol="tcp", family="ipv6", address="::", port=443, v6only=False, inode=2, processes=[shared]),
        Listener(protocol="udp", family="ipv6", address="fe80::1%eth0", port=53, interface="eth0",
                 owner_reason="owner not attributable: no process visible here holds socket inode 3"),
        Listener(protocol="tcp", family="ipv4", address="127.0.0.1", port=8080, declared_by="/etc/systemd/x.socket"),
    ]
    for facts in (Facts(sockets=SocketFacts(listeners=listeners)), Facts(sockets=SocketFacts(listeners=[])),
                  Facts(sockets=SocketFacts(listeners=None)), Facts()):
        assert facts_json(facts) == facts.model_dump(mode="json")
        assert json.dumps(facts_json(facts), sort_keys=True) == json.dumps(facts.model_dump(mode="json"), sort_keys=True)


def test_the_bytes_and_digest_are_those_of_pydantics_dump() -> None:
    from auditor.storage.jsontext import indented_json

    snapshot = make_snapshot(extra_listeners=3)
    assert snapshot_bytes(snapshot) == indented_json(snapshot.model_dump(mode="json", by_alias=True))
    assert snapshot.facts_digest() == digest_of({"facts": snapshot.facts.model_dump(mode="json"),
                                                 "gaps": [g.model_dump(mode="json", exclude={"path"})
                                                          for g in snapshot.gaps]})
    evidence = make_evidence(extra_listeners=3)
    dumped = evidence.model_dump(mode="json", by_alias=True, exclude={"result": {"findings"}})
    dumped["result"]["findings"] = [f.model_dump(mode="json") for f in evidence.result.findings]
    del dumped["waiver_file"]  # written only when the run had a waivers file
    from auditor.storage.evidence import float_holders

    assert evidence_bytes(evidence) == indented_json(dumped, float_holders)


def test_the_digest_of_many_listeners_made_plain_in_chunks_is_that_of_pydantics_dump() -> None:
    # facts_digest makes the listeners plain 256 at a time as it hashes (more than two chunks here).
    snapshot = make_snapshot(extra_listeners=600)
    assert snapshot.facts_digest() == digest_of({"facts": snapshot.facts.model_dump(mode="json"),
                                                 "gaps": [g.model_dump(mode="json", exclude={"path"})
                                                          for g in snapshot.gaps]})


def test_a_gap_built_in_bulk_is_the_gap_validation_builds() -> None:
    # gap_at skips pydantic's validation for a collector's own paths and reasons (issue 16): the
    # model must be the validated one, field for field, fields set and all; what it cannot vouch
    # for (a digit string, a slash, a negative index, a bool, an unknown section, no reason) is
    # validated as always, and refused as always.
    cases = [("sockets", ("listeners", 3, "processes"), "tcp 127.0.0.1:80: other processes may hold it too"),
             ("sockets", ("listeners", 0, "processes", 1, "exe"), "exe of pid 9: permission denied"),
             ("sockets", ("listeners", 2, "transparent"), "name \udcff not UTF-8"),
             ("sysctl", ("runtime", "net.ipv4.ip_local_port_range"), "r"),
             ("sockets", ("listeners", "3", "processes"), "a digit string is an index"),
             ("sockets", ("runtime", "a/b"), "a slash in a part"), ("sockets", (), "the whole section")]
    for section, path, reason in cases:
        built, validated = gap_at(section, path, reason), Gap(section=section, path=path, reason=reason)
        assert built == validated and repr(built) == repr(validated)
        assert list(built.__dict__.items()) == list(validated.__dict__.items())
        assert built.__pydantic_fields_set__ == validated.__pydantic_fields_set__
        assert gap_json(built) == built.model_dump(mode="json") == validated.model_dump(mode="json")
    assert gap_at("sockets", ("listeners", 2), "x").kind is GapKind.UNREADABLE
    for section, path, reason in [("nope", ("listeners", 1), "x"), ("sockets", ("listeners", 1), ""),
                                  ("sockets", ("listeners", -1), "x"), ("sockets", ("listeners", True), "x")]:
        try:
            gap_at(section, path, reason)
        except ValueError as exc:
            assert "validation error" in str(exc)
        else:
            raise AssertionError(f"gap_at({section!r}, {path!r}, {reason!r}) was not refused")


def test_many_gaps_are_written_and_digested_as_pydantic_dumps_them() -> None:
    # The gaps (one a listener inside a PID namespace) are written and digested one at a time.
    from auditor.storage.jsontext import indented_json

    snapshot = make_snapshot(extra_listeners=600)
    gaps = [gap_at("sockets", ("listeners", i, "processes"), f"listener {i}: other processes may hold it too")
            for i in range(600)]
    snapshot = snapshot.model_copy(update={"gaps": [*snapshot.gaps, *gaps]})
    assert snapshot.facts_digest() == digest_of({"facts": snapshot.facts.model_dump(mode="json"),
                                                 "gaps": [g.model_dump(mode="json", exclude={"path"})
                                                          for g in snapshot.gaps]})
    assert snapshot_bytes(snapshot) == indented_json(snapshot.model_dump(mode="json", by_alias=True))


def test_a_listener_of_a_row_is_the_listener_validation_builds() -> None:
    # listener_of_row skips pydantic's validation for what the collector parsed (issue 16): the
    # model must be the validated one, fields set and all; a value validation would refuse is
    # validated, and refused, as always.
    from auditor.model.facts import listener_of_row

    rows = [("tcp", "ipv4", "127.0.0.1", 80, None, None, 0, "root", 123, False),
            ("udp", "ipv6", "fe80::1%eth0", 53, True, "eth0", 65534, None, 2**64 - 1, None),
            ("raw", "ipv6", "::", 253, True, None, None, None, None, True)]
    names = ("protocol", "family", "address", "port", "v6only", "interface", "uid", "user", "inode", "transparent")
    for row in rows:
        built, validated = listener_of_row(*row), Listener(**dict(zip(names, row)))
        assert built == validated and repr(built) == repr(validated)
        assert list(built.__dict__.items()) == list(validated.__dict__.items())
        assert built.__pydantic_fields_set__ == validated.__pydantic_fields_set__
    for bad in [("tcp", "ipv4", "::1", 80, None, None, 0, None, 1, None), ("tcp", "ipv4", "1.2.3.4", 65536, None, None, 0, None, 1, None),
                ("nope", "ipv4", "1.2.3.4", 1, None, None, 0, None, 1, None), ("tcp", "ipv4", "1.2.3.4", 1, None, None, -1, None, 1, None),
                ("tcp", "ipv4", "1.2.3.4", 1, None, None, 0, None, 2**64, None)]:
        try:
            listener_of_row(*bad)
        except ValueError as exc:
            assert "validation error" in str(exc)
        else:
            raise AssertionError(f"listener_of_row{bad!r} was not refused")
