"""Every report of a Windows or macOS host tells its reader that OS's own remedies (remedy21).

Before: each check's remediation was Linux's alone (/etc/sysctl.d, sysctl --system, net.ipv4.*,
auditctl, augenrules), and it reached every report of a host replayed from a Windows or macOS bundle:
the terminal's next steps (``first_sentence(record.remediation)``), the SARIF rules' help, the HDF
controls' ``fix``, the OSCAL risks' remediations and the PDF and HTML finding groups.  An auditor
given a Windows server's report was told to edit /etc/sysctl.d and run augenrules.

Now a check's remediation is divided by platform headings (``On Windows:``, ``On macOS:``,
``auditor.model.check.REMEDIATION_HEADINGS``) and every report shows the part for the platform the
evidence judged (``CheckRecord.remediation_on``).  The evidence records the whole text, as before (one
string: the evidence schema is unchanged), and a record without headings, an older lbaudit's or a
plugin's, is shown whole.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from pypdf import PdfReader

from auditor.engine.registry import load_registry
from auditor.model.check import REMEDIATION_HEADINGS, remediation_for
from tests.bundles import BUNDLES, CORP
from tests.cli import run_cli

pytestmark = pytest.mark.xdist_group("remedy21_platform_remediation")

ROOTS = Path(__file__).resolve().parents[1] / "fixtures" / "roots"

# What each platform's own remedy names, by check: what a reader of that host's report must be told.
OWN_MEANS = {
    "windows": {
        "net.ephemeral_port_range": "netsh int ipv4 set dynamicport tcp",
        "net.time_wait": "TcpTimedWaitDelay",
        "net.bind_addresses": "netstat -ano",
        "audit.socket_logging": 'auditpol /set /subcategory:"Filtering Platform Connection" /success:enable',
    },
    "macos": {
        "net.ephemeral_port_range": "net.inet.ip.portrange.first",
        "net.time_wait": "net.inet.tcp.msl",
        "net.bind_addresses": "SockNodeName",
        "audit.socket_logging": "/etc/security/audit_control",
    },
}
# What another platform's remedy names: none of it may reach that host's report.
LINUX_MEANS = ("/etc/sysctl.d", "sysctl --system", "net.ipv4.", "augenrules", "auditctl", "/etc/audit/")
FOREIGN = {
    "windows": (*LINUX_MEANS, "net.inet.", "/etc/sysctl.conf", "audit_control", "launchctl"),
    "macos": (*LINUX_MEANS, "netsh", "auditpol", "TcpTimedWaitDelay", "reg add"),
    "linux": ("netsh", "auditpol", "TcpTimedWaitDelay", "net.inet.", "audit_control", *REMEDIATION_HEADINGS),
}

# The Linux remediations as they were before platforms divided them: a Linux host's reports show
# these, word for word.
LINUX_BEFORE = {
    "net.ephemeral_port_range": """\
        Set the range in /etc/sysctl.d/ (e.g. net.ipv4.ip_local_port_range = 32768 60999, or wider such as
        1024 65535 on hosts that open many outgoing connections) and apply it with sysctl --system.  Move a
        service out of the range, or reserve its port: net.ipv4.ip_local_reserved_ports = 8080,9000-9010
        (reserved ports are still usable by services that bind them explicitly, but are never chosen
        automatically).""",
    "net.time_wait": """\
        Widen net.ipv4.ip_local_port_range, spread the load over more destination addresses or ports, use
        connection pooling / keep-alive so fewer connections are opened, or (only where the policy allows)
        set net.ipv4.tcp_tw_reuse.  Set the sysctls in /etc/sysctl.d/ and apply with sysctl --system.
        Lowering tcp_fin_timeout does not shorten TIME_WAIT.""",
    "net.bind_addresses": """\
        Configure the service to bind to a specific address (e.g. listen_addresses = 'localhost' for
        PostgreSQL, bind 127.0.0.1 ::1 for Redis, ListenAddress for sshd, ListenStream=127.0.0.1:PORT for a
        systemd socket unit).  For a :: socket that must not accept IPv4, set IPV6_V6ONLY (or
        net.ipv6.bindv6only=1 for sockets that do not set it).

        If the exposure is intended, add an exception to the policy that matches the service (process,
        exe, user, ports, protocol) with the allowed addresses and the reason, so that the decision is
        written down.""",
}


def _rendered(out: Path, target: str) -> dict:
    (out / "reports").mkdir(parents=True)
    result = run_cli("evaluate", "--policy", CORP, "--target", target, "--output", out / "e.json",
                     "--format", "sarif,hdf,oscal,html", "--out-dir", out / "reports", "--pdf", out / "a.pdf",
                     "--no-plugins", timeout=120)
    assert result.returncode == 1, result.stderr  # each of these hosts fails corp.yaml
    assert "Traceback" not in result.stderr
    evidence = json.loads((out / "e.json").read_text())
    check_of = {rule["id"]: rule["check"] for rule in evidence["policy"]["rules"]}
    [sarif] = (out / "reports").glob("*.sarif")
    [hdf] = (out / "reports").glob("*.hdf.json")
    [oscal] = (out / "reports").glob("*.oscal.json")
    [html] = (out / "reports").glob("*.html")
    steps = {}  # check -> its next step's remedy, as the terminal printed it
    for line in (result.stdout + result.stderr).splitlines():
        if " -- " in line and ": lbaudit explain " in line:
            check = line.split(": lbaudit explain ", 1)[1].split(" -- ", 1)[0]
            steps[check] = line.split(" -- ", 1)[1]
    sarif_rules = json.loads(sarif.read_text())["runs"][0]["tool"]["driver"]["rules"]
    sarif_help = {rule["id"]: rule["help"]["text"] for rule in sarif_rules}
    hdf_fix = {}
    for control in json.loads(hdf.read_text())["profiles"][0]["controls"]:
        if control["id"] in check_of:  # not lbaudit-run-complete, which is no rule's
            [fix] = [d["data"] for d in control["descriptions"] if d["label"] == "fix"]
            hdf_fix[check_of[control["id"]]] = fix
    oscal_remediations = []

    def walk(value):
        if isinstance(value, dict):
            for remediation in value.get("remediations", []):
                oscal_remediations.append(remediation["description"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(oscal.read_text()))
    pdf = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(out / "a.pdf").pages))
    return {"evidence": evidence, "steps": steps, "sarif": sarif_help, "hdf": hdf_fix,
            "oscal": oscal_remediations, "html": html.read_text(), "pdf": pdf}


@pytest.fixture(scope="module", params=[("windows-default-en", "windows"), ("macos-default", "macos")],
                ids=["windows", "macos"])
def replayed(request, tmp_path_factory):
    bundle, platform = request.param
    return platform, _rendered(tmp_path_factory.mktemp(platform), f"replay:{BUNDLES / bundle}")


@pytest.fixture(scope="module")
def linux(tmp_path_factory):
    return _rendered(tmp_path_factory.mktemp("linux"), f"root:{ROOTS / 'sysctl-precedence'}")


def _foreign_in(text: str, platform: str) -> list[str]:
    return [word for word in FOREIGN[platform] if word in text]


def test_the_evidence_records_every_platforms_remediation(replayed):
    """The evidence is unchanged in shape: one remediation text per check, holding every platform's part."""
    _, rendered = replayed
    for record in rendered["evidence"]["checks"]:
        if record["name"] in OWN_MEANS["windows"]:
            assert "On Windows:" in record["remediation"] and "On macOS:" in record["remediation"]
            assert "/etc/sysctl.d" in record["remediation"] or record["name"] == "net.bind_addresses"


def test_terminal_next_steps_name_the_platforms_own_means(replayed):
    platform, rendered = replayed
    failing = {f["check"] for f in rendered["evidence"]["result"]["findings"] if f["status"] == "fail"}
    assert {"net.ephemeral_port_range", "audit.socket_logging"} <= failing  # what this test relies on
    assert failing & set(OWN_MEANS[platform]) <= set(rendered["steps"])
    for check in failing & set(OWN_MEANS[platform]):
        step = rendered["steps"][check]
        assert not _foreign_in(step, platform), (check, step)
    assert OWN_MEANS[platform]["net.ephemeral_port_range"] in rendered["steps"]["net.ephemeral_port_range"]
    means = {"windows": "auditpol", "macos": "audit(4)"}[platform]
    assert means in rendered["steps"]["audit.socket_logging"]


@pytest.mark.parametrize("where", ["sarif", "hdf"])
def test_sarif_help_and_hdf_fix_give_the_platforms_remediation(replayed, where):
    platform, rendered = replayed
    texts = rendered[where]
    for check, means in OWN_MEANS[platform].items():
        assert means in texts[check], (where, check, texts[check])
        assert not _foreign_in(texts[check], platform), (where, check, _foreign_in(texts[check], platform))
        assert "On Windows:" not in texts[check] and "On macOS:" not in texts[check]


def test_oscal_risks_the_html_page_and_the_pdf_give_the_platforms_remediation(replayed):
    platform, rendered = replayed
    assert rendered["oscal"], "no risk with a remediation: the hosts fail corp.yaml"
    for description in rendered["oscal"]:
        assert not _foreign_in(description, platform), description
    assert any(OWN_MEANS[platform]["net.ephemeral_port_range"] in d for d in rendered["oscal"])
    assert OWN_MEANS[platform]["net.ephemeral_port_range"] in rendered["html"]
    assert "/etc/sysctl.d" not in rendered["html"] and "augenrules" not in rendered["html"]
    assert OWN_MEANS[platform]["net.ephemeral_port_range"] in rendered["pdf"]
    assert "/etc/sysctl.d" not in rendered["pdf"] and "augenrules" not in rendered["pdf"]


def test_a_linux_hosts_reports_keep_the_linux_remediation_word_for_word(linux):
    for check, before in LINUX_BEFORE.items():
        text = textwrap.dedent(before)
        assert linux["sarif"][check] == f"Remediation: {text}"
        assert linux["hdf"][check] == text
    assert linux["steps"]["net.ephemeral_port_range"] == (
        "Set the range in /etc/sysctl.d/ (e.g. net.ipv4.ip_local_port_range = 32768 60999, or wider such as "
        "1024 65535 on hosts that open many outgoing connections) and apply it with sysctl --system.")
    for where in ("sarif", "hdf"):
        for check, text in linux[where].items():
            assert not _foreign_in(text, "linux"), (where, check, _foreign_in(text, "linux"))
    assert linux["sarif"]["audit.socket_logging"].startswith(
        "Remediation: Put the rules in a file that sorts before any never rule")


def test_every_builtin_check_judging_several_platforms_has_a_part_for_each():
    """A check that judges Windows or macOS hosts says how to remedy there; one that forgot would
    show that host the whole text, Linux's included."""
    for spec in load_registry(plugins=False).checks.values():
        if spec.platforms == ("linux",):
            assert remediation_for(spec.remediation, "windows") == spec.remediation
            continue
        for platform in spec.platforms:
            shown = remediation_for(spec.remediation, platform)
            assert shown != spec.remediation, (spec.name, platform)
            assert not _foreign_in(shown, platform), (spec.name, platform, _foreign_in(shown, platform))


def test_a_record_without_headings_is_shown_whole_and_headings_only_after_a_blank_line():
    plain = "Edit /etc/sysctl.d.\n\nThen run sysctl --system."
    assert remediation_for(plain, "windows") == plain
    # A line that reads like a heading inside a paragraph is text, not a heading.
    inline = "Do this.\nOn Windows:\nnothing else"
    assert remediation_for(inline, "windows") == inline
    divided = "Common.\n\nOn Linux:\n\n    indented code\n\nOn Windows:\nnetsh.\n\nOn every platform:\n\nLast."
    assert remediation_for(divided, "linux") == "Common.\n\n    indented code\n\nLast."
    assert remediation_for(divided, "windows") == "Common.\n\nnetsh.\n\nLast."
    # A platform the text has no part for gets it all, headings included: nothing is hidden.
    assert remediation_for(divided, "macos") == divided


def test_a_remediation_of_many_blank_lines_is_divided_in_linear_time():
    """An edited evidence file's remediation (the PDF shows it without the reports' cut) of a million
    blank lines under a heading: trimming them one copy at a time would be quadratic."""
    import time

    text = "On Windows:\n" + "\n" * 1_000_000 + "netsh." + "\n" * 1_000_000 + "\nOn Linux:\n\nsysctl."
    started = time.monotonic()
    assert remediation_for(text, "windows") == "netsh."
    assert time.monotonic() - started < 5
