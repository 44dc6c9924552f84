"""Hostile boot configuration: the sysctl.extra credential systemd-sysctl applies after the files.

systemd-sysctl 252 and later read the credential ``sysctl.extra`` after every sysctl.d file
(src/sysctl/sysctl.c read_credential_lines; its unit has ``LoadCredential=sysctl.extra``), given by
``systemd.set_credential=sysctl.extra:...`` on the kernel command line, SMBIOS type 11 or a
container manager.  lbaudit did not read it: where the credential sets tcp_tw_reuse 0 over a file's
1, a host running 1 (changed by hand after the boot set 0) passed drift.sysctl on the file's 1,
and the next boot sets 0 again.  On a running host the service's copy is read (else the system's),
last, as systemd-sysctl reads it; procps' ``sysctl --system`` reads no credential.
"""

from __future__ import annotations

from pathlib import Path

from auditor.collect import CollectContext
from auditor.collect.sysctl import collect_sysctl
from auditor.model.result import Status
from tests.hostile.test_drift_sysctl_cmdline import TW_REUSE, drift_of, host

SERVICE = "run/credentials/systemd-sysctl.service"
SYSTEM = "run/credentials/@system"


def with_credential(target, directory: str, text: str | None):
    credentials = Path(target.root) / directory
    credentials.mkdir(parents=True)
    if text is not None:
        (credentials / "sysctl.extra").write_text(text)
    return target


def test_the_credential_applied_last_is_the_boot_value(tmp_path):
    target = with_credential(host(tmp_path, "quiet", f"{TW_REUSE} = 1", running={TW_REUSE: "1"}),
                             SERVICE, f"{TW_REUSE} = 0\n")
    facts, [outcome] = drift_of(target)
    assert facts.persistent[TW_REUSE].origin == f"/{SERVICE}/sysctl.extra:1"
    assert outcome.status == Status.FAIL
    assert outcome.message.startswith(f"running value '1' differs from '0' set at /{SERVICE}/sysctl.extra:1")


def test_the_systems_credential_counts_where_the_service_has_none_set_up(tmp_path):
    target = with_credential(host(tmp_path, "quiet", "net.ipv4.tcp_fin_timeout = 30", running={TW_REUSE: "1"}),
                             SYSTEM, "net.ipv4.tcp_tw_re* = 0\n")
    facts, [outcome] = drift_of(target)
    assert outcome.status == Status.FAIL
    assert f"'0' set at /{SYSTEM}/sysctl.extra:1" in outcome.message


def test_the_services_credentials_without_sysctl_extra_set_nothing(tmp_path):
    target = with_credential(host(tmp_path, "quiet", f"{TW_REUSE} = 1", running={TW_REUSE: "1"}), SERVICE, None)
    with_credential(target, SYSTEM, f"{TW_REUSE} = 0\n")  # not what the service was given
    _, [outcome] = drift_of(target)
    assert outcome.status == Status.PASS


def test_procps_reads_no_credential(tmp_path):
    target = with_credential(host(tmp_path, "quiet", f"{TW_REUSE} = 1", running={TW_REUSE: "1"}),
                             SERVICE, f"{TW_REUSE} = 0\n")
    (Path(target.root) / "usr" / "lib" / "systemd" / "systemd-sysctl").unlink()
    _, [outcome] = drift_of(target)
    assert outcome.status == Status.PASS


def test_an_unreadable_credentials_directory_leaves_the_boot_configuration_unknown(tmp_path):
    target = host(tmp_path, "quiet")
    (Path(target.root) / "run" / "credentials").mkdir(parents=True)
    (Path(target.root) / SERVICE).symlink_to("systemd-sysctl.service")  # a loop
    facts, gaps = collect_sysctl(CollectContext(target=target))
    assert facts.persistent is None
    [reason] = [g.reason for g in gaps if g.field == "persistent"]
    assert reason.startswith(f"sysctl configuration could not be read completely: /{SERVICE}: ")
    assert reason.endswith("(its sysctl.extra would be applied last)")
