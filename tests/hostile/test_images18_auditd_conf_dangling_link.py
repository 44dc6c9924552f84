"""auditd.conf that is a symbolic link to nothing: auditd refuses it, lbaudit took auditd's defaults.

auditd's load_config() opens /etc/audit/auditd.conf with O_NOFOLLOW (no -l, as its unit starts
it): a link, wherever it leads, is ELOOP, "Error opening config file", and auditd does not start;
only ENOENT (no such name at all) means "doesn't exist, skipping" and the defaults.  lbaudit
refused a link to a file, but a link to nothing (``auditd.conf -> /srv/audit/auditd.conf``, a mount
the image does not carry) read as no file at all: "does not exist, so auditd's defaults apply" and
"audit records written" passed for an image whose auditd never starts.  Now it is refused as a link
to a file is.
"""

from __future__ import annotations

from pathlib import Path

from tests.hostile.test_offline_images import evaluate, image, link, write  # noqa: F401  (image: fixture)

RECORDS = ("audit", "audit records written")


def _with_auditd(image: Path) -> Path:  # noqa: F811
    (image / "usr/sbin/auditd").write_bytes((image / "usr/sbin/auditctl").read_bytes())
    return image


def test_an_auditd_conf_linked_to_nothing_is_refused(image: Path) -> None:  # noqa: F811
    link(_with_auditd(image), "etc/audit/auditd.conf", "/srv/audit/auditd.conf")
    code, findings = evaluate(image)
    records = findings[RECORDS]
    assert records["status"] == "fail", records
    assert "symbolic link" in records["message"] and "does not exist" not in records["message"], records["message"]
    assert code == 1


def test_a_link_to_a_file_was_refused_already(image: Path) -> None:  # noqa: F811
    write(_with_auditd(image), "srv/audit/auditd.conf", "log_file = /var/log/audit/audit.log\n")
    link(image, "etc/audit/auditd.conf", "/srv/audit/auditd.conf")
    code, findings = evaluate(image)
    assert findings[RECORDS]["status"] == "fail"
    assert code == 1


def test_no_auditd_conf_at_all_is_auditd_defaults(image: Path) -> None:  # noqa: F811
    code, findings = evaluate(_with_auditd(image))
    records = findings[RECORDS]
    assert records["status"] == "pass", records
    assert "does not exist, so auditd's defaults apply" in records["message"]
    assert code == 0
