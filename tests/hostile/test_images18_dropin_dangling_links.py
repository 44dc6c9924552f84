"""An offline image's socket unit drop-in that is a symbolic link to nothing does not prove nothing changes.

Before: ``/etc/systemd/system/local.socket.d/10-x.conf -> /srv/units/x.conf``, in an image that
does not carry /srv (a partition or volume mounted at boot), was skipped as systemd skips a dangling
drop-in, and the socket's loopback listener passed; at boot the link leads to a drop-in that may add
``ListenStream=0.0.0.0:9001``.  As for a sysctl file or a rules.d file so linked, the unit's
listeners are now unknown: the collection is not_reviewed, naming the link.  On a running host its
mounts are there, and a drop-in linked to nothing changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from tests.hostile.test_offline_images import ETC_UNITS, evaluate, image, link, status, write  # noqa: F401


def test_a_dropin_linked_to_nothing_is_not_reviewed(image: Path) -> None:  # noqa: F811
    link(image, f"{ETC_UNITS}/local.socket.d/10-x.conf", "/srv/units/x.conf")
    code, findings = evaluate(image)
    collection = findings[("listeners", "listeners (collection)")]
    assert collection["status"] == "not_reviewed", collection
    assert "/etc/systemd/system/local.socket.d/10-x.conf: not found, through a symbolic link to nothing" \
        in collection["reason"], collection["reason"]
    assert code == 3


def test_the_dropin_it_leads_to_is_judged(image: Path) -> None:  # noqa: F811
    """The same link with its target present: the wildcard listener it adds fails."""
    write(image, "srv/units/x.conf", "[Socket]\nListenStream=0.0.0.0:9001\n")
    link(image, f"{ETC_UNITS}/local.socket.d/10-x.conf", "/srv/units/x.conf")
    code, findings = evaluate(image)
    assert status(findings, "listeners", "listeners (collection)") == "not_applicable"
    assert [f["status"] for (rule, subject), f in findings.items()
            if rule == "listeners" and subject.startswith("tcp 0.0.0.0:9001")] == ["fail"]
    assert code == 1
