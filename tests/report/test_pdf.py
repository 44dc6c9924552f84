"""The PDF attestation, read back with pypdf: content, attachment, metadata, fonts, determinism, scale."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import timezone
from pathlib import Path

import pytest
from pypdf import PdfReader

from auditor.attest.signing import generate_keypair, load_public_key, public_key_fingerprint
from auditor.model.base import canonical_json, sha256_hex
from auditor.report import ReportContext, load_reporters
from auditor.report import _pdf_sections as sections
from auditor.report.pdf import REPORTER, render_pdf
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import FAILING_SUBJECTS, make_evidence
from tests.pdf_readback import read_pdf_evidence

REPO_ROOT = Path(__file__).resolve().parents[2]
# One pytest-xdist worker runs this module (--dist loadgroup): otherwise both set up
# the module's PDF (``pdf_bytes``) and its text (``pages_text``), each for its own share of the tests.
pytestmark = pytest.mark.xdist_group("report_pdf")


@pytest.fixture(scope="module")
def attest_evidence():
    return make_evidence()


@pytest.fixture(scope="module")
def fingerprint(tmp_path_factory):
    _, public = generate_keypair(tmp_path_factory.mktemp("keys"))
    return public_key_fingerprint(load_public_key(public))


@pytest.fixture(scope="module")
def attest_context(attest_evidence, fingerprint):
    return ReportContext(evidence_bytes=evidence_bytes(attest_evidence), evidence_path="out/web01.evidence.json",
                         signature_fingerprint=fingerprint)


@pytest.fixture(scope="module")
def pdf_bytes(attest_evidence, attest_context):
    return render_pdf(attest_evidence, attest_context)


@pytest.fixture(scope="module")
def reader(pdf_bytes):
    return PdfReader(io.BytesIO(pdf_bytes))


@pytest.fixture(scope="module")
def pages_text(reader):
    return [page.extract_text() for page in reader.pages]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.slow  # renders and reads back a PDF
def test_text_has_verdict_digests_controls_and_failing_subjects(attest_evidence, attest_context, pages_text,
                                                                fingerprint):
    text = "\n".join(pages_text)
    flat = _flat(text)
    assert "NOT COMPLIANT" in pages_text[0]
    assert sha256_hex(attest_context.evidence_bytes) in pages_text[0]  # the evidence file
    assert attest_evidence.policy_sha256 in pages_text[0]
    content = sha256_hex(canonical_json(json.loads(attest_context.evidence_bytes)))
    assert content not in pages_text[0]  # one evidence digest on the cover; the method page has the other
    assert content in flat.replace(" ", "")  # what a signature covers
    assert fingerprint in pages_text[0]
    assert attest_evidence.result.controls, "the fixture maps to controls"
    for control in attest_evidence.result.controls:
        assert control.id in text, control.id
    for subject in FAILING_SUBJECTS:
        assert subject in flat, subject
    for record in attest_evidence.checks:  # rationale and remediation of every rule with findings shown
        if record.name not in ("test.privileged_ports", "test.ipv6_only"):  # only passes / not applicable
            assert _flat(record.remediation) in flat, record.name


def test_not_reviewed_and_error_findings_carry_their_reasons(pages_text):
    flat = _flat("\n".join(pages_text))
    assert "auditctl -l: permission denied (needs CAP_AUDIT_CONTROL)" in flat
    assert "ValueError: cannot parse <listener> & friends" in flat
    assert "not reviewed" in flat and "error" in flat


def test_cover_names_the_system_policy_time_tool_and_assessor(attest_evidence, pages_text):
    cover = _flat(pages_text[0])
    prov = attest_evidence.snapshot.provenance
    for value in (prov.hostname, prov.os, prov.kernel, prov.machine_id, "corp-baseline, version 2026.11",
                  "2026-11-01 12:00:05 UTC", f"lbaudit {attest_evidence.tool.version}",
                  "Platform Security <security@example.test>", "web01.evidence.json"):
        assert value in cover, value


def test_waivers_show_approver_reason_expiry_and_expired_ones(pages_text):
    flat = _flat("\n".join(pages_text))
    assert "Dana Whitfield (CISO)" in flat and "Sam Okafor (Platform lead)" in flat
    assert "Kernel tuning rollout pending" in flat
    assert "EXPIRED" in flat and "2026-10-02" in flat  # the expired waiver and its date
    assert "tcp 0.0.0.0:8080 java pid 1500" in flat  # the waived finding
    assert "unused: matched no failing finding" in flat


def test_method_and_scope_says_how_facts_were_collected_and_what_was_not_seen(pages_text):
    flat = _flat("\n".join(pages_text))
    assert "netlink sock_diag; owners from /proc/<pid>/fd" in flat
    assert "with administrative privileges" in flat
    assert "What could not be seen" in flat
    assert "test.port_range" in flat and "policies/corp.yaml" in flat


def test_summary_counts_and_family_chart(attest_evidence, pages_text):
    summary = _flat(pages_text[1])
    assert "Executive summary" in summary
    assert "Controls per family, by status" in summary  # the chart's caption, drawn with reportlab.graphics
    for family in ("AC Access Control", "AU Audit and Accountability", "SC System and Communications Protection"):
        assert family in summary
    by_status = attest_evidence.result.summary.by_status
    assert f"all severities {by_status['fail']} {by_status['error']} {by_status['not_reviewed']}" in summary


def test_attestation_statement_and_signature_block(pages_text, attest_context):
    last = _flat(" ".join(pages_text[-2:]))
    assert "The undersigned attest" in last
    assert sha256_hex(attest_context.evidence_bytes) in last
    for label in ("Assessor", "Authorising official", "Name", "Role", "Signature", "Date"):
        assert label in last


def test_attachment_is_the_exact_evidence_bytes(reader, attest_context):
    assert list(reader.attachments) == ["web01.evidence.json"]
    assert reader.attachments["web01.evidence.json"] == [attest_context.evidence_bytes]


def test_read_pdf_evidence_finds_attachment_and_printed_digest(tmp_path, pdf_bytes, attest_context):
    path = tmp_path / "a.pdf"
    path.write_bytes(pdf_bytes)
    found = read_pdf_evidence(path)
    assert found.attachment == attest_context.evidence_bytes
    assert found.recorded_sha256 == sha256_hex(attest_context.evidence_bytes)
    assert found.printed


def test_metadata_is_set_and_dated_from_the_evidence(reader, attest_evidence, attest_context):
    info = reader.metadata
    assert info.title == "Compliance attestation: web01.example.test, corp-baseline 2026.11"
    assert info.author == "Platform Security <security@example.test>"
    assert "NOT COMPLIANT" in info.subject and sha256_hex(attest_context.evidence_bytes) in info.subject
    for control in attest_evidence.result.controls:
        assert control.id in info["/Keywords"]
    # A PDF date has whole seconds: the run finished at 12:00:07.250, the PDF says 12:00:07.
    finished = attest_evidence.run.finished_at.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
    assert info.creation_date.replace(tzinfo=None) == finished
    assert info["/Creator"] == f"lbaudit {attest_evidence.tool.version}"


def test_every_font_is_embedded(reader):
    fonts = {}
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            fonts[font["/BaseFont"]] = font
    assert fonts, "the PDF uses fonts"
    for name, font in fonts.items():
        descriptor = font.get("/FontDescriptor")
        assert descriptor is not None, f"{name} is not embedded (a standard PDF font)"
        assert "/FontFile2" in descriptor.get_object(), f"{name} has no embedded TrueType program"


def test_pages_are_numbered_with_a_running_header(pages_text, attest_evidence):
    total = len(pages_text)
    assert total >= 5
    for number, text in enumerate(pages_text, start=1):
        assert f"page {number} of {total}" in text
        if number > 1:
            assert "web01.example.test" in text and "assessed 2026-11-01" in text


def test_outline_has_a_bookmark_per_section(reader):
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert titles == ["1 Executive summary", "2 Controls", "3 Findings", "4 Waivers", "5 Method and scope",
                      "6 Attestation"]


def test_same_evidence_renders_to_identical_bytes(attest_evidence, attest_context, pdf_bytes):
    assert render_pdf(attest_evidence, attest_context) == pdf_bytes


@pytest.mark.slow  # renders in a child interpreter
def test_identical_bytes_in_a_fresh_process(tmp_path, attest_evidence, fingerprint, pdf_bytes):
    """No state of this process (fonts already used, object counters) leaks into the bytes."""
    script = (
        "import sys\n"
        "from auditor.report import ReportContext\n"
        "from auditor.storage.evidence import evidence_bytes\n"
        "from auditor.report.pdf import render_pdf\n"
        "from tests.evidence_fixtures import make_evidence\n"
        "e = make_evidence()\n"
        f"c = ReportContext(evidence_bytes=evidence_bytes(e), evidence_path='out/web01.evidence.json', "
        f"signature_fingerprint={fingerprint!r})\n"
        "sys.stdout.buffer.write(render_pdf(e, c))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=REPO_ROOT, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "1234567890", "TZ": "Asia/Tokyo"})
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == pdf_bytes


def test_unsigned_evidence_and_an_assessor_override():
    evidence = make_evidence(only_rules=["privileged-ports"])
    data = render_pdf(evidence, ReportContext(evidence_bytes=evidence_bytes(evidence), assessor="Ada Example (QSA)"))
    reader = PdfReader(io.BytesIO(data))
    cover = _flat(reader.pages[0].extract_text())
    assert "unsigned" in cover
    assert "Ada Example (QSA)" in cover and reader.metadata.author == "Ada Example (QSA)"
    assert "COMPLIANT" in cover and "NOT COMPLIANT" not in cover
    assert list(reader.attachments) == ["evidence.json"]  # no evidence path given


def test_incomplete_verdict_in_plain_words():
    evidence = make_evidence(only_rules=["privileged-ports", "audit-socket-calls"])
    data = render_pdf(evidence, ReportContext(evidence_bytes=evidence_bytes(evidence)))
    cover = _flat(PdfReader(io.BytesIO(data)).pages[0].extract_text())
    assert "INCOMPLETE" in cover
    assert "could not be established: 1 finding could not be reviewed or errored" in cover


def test_text_outside_latin1_is_rendered_with_embedded_glyphs():
    evidence = make_evidence(only_rules=["privileged-ports"])
    owner = "Zoë Ångström — Служба безопасности"
    evidence = evidence.model_copy(update={"policy": evidence.policy.model_copy(update={"owner": owner})})
    data = render_pdf(evidence, ReportContext(evidence_bytes=evidence_bytes(evidence)))
    assert owner in _flat(PdfReader(io.BytesIO(data)).pages[0].extract_text())


def test_long_values_are_cut_with_a_pointer_to_the_evidence_and_long_words_wrap():
    shown = sections.value_text({"ports": list(range(400))})
    assert shown.startswith("ports: 0, 1, 2")
    assert len(shown) < 700 and shown.endswith("(cut; whole value in the embedded evidence)")
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines = sections.wrap_plain("x" * 100, 100.0).split("\n")  # no separator at all: cut at the column edge
    assert len(lines) > 1 and all(stringWidth(line, sections.FONT_NAMES["regular"], 8) <= 100.0 for line in lines)
    assert "".join(lines) == "x" * 100


def test_values_read_as_key_value_lines():
    assert sections.value_text({"arch": "b64", "missing": ["bind", "connect"], "narrowed": []}) == (
        "arch: b64\nmissing: bind, connect\nnarrowed: none")
    assert sections.value_text([{"allow": ["loopback"], "rule": "default"}]) == "- allow: loopback\n  rule: default"
    assert sections.value_text(None) == "\u2014"


def test_reporter_is_registered_as_pdf():
    assert REPORTER.name == "pdf" and REPORTER.extension == ".pdf"
    assert load_reporters(plugins=False)["pdf"] is REPORTER


@pytest.mark.slow  # renders 5,000 findings
def test_five_thousand_findings_render_grouped_by_workload_in_a_few_pages():
    evidence = make_evidence(extra_listeners=5000)
    failing = sum(1 for f in evidence.result.findings if f.status.value == "fail")
    assert failing > 5000
    data = render_pdf(evidence, ReportContext(evidence_bytes=evidence_bytes(evidence)))
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) < 15  # not 250 pages of near-identical rows: the evidence has them all
    text = _flat(" ".join(page.extract_text() for page in reader.pages))
    assert "worker-#: 5000 findings" in text and "and 4992 more (in the evidence)" in text
    assert "Status Process or workload Subjects What was found" in text
    assert reader.attachments["evidence.json"][0] == evidence_bytes(evidence)


def test_a_findings_table_longer_than_a_page_repeats_its_header_on_every_page():
    evidence = make_evidence(extra_listeners=50)  # under the grouping threshold: one row per finding
    data = render_pdf(evidence, ReportContext(evidence_bytes=evidence_bytes(evidence)))
    reader = PdfReader(io.BytesIO(data))
    total = len(reader.pages)
    texts = [page.extract_text() for page in reader.pages]  # each page read back once
    spanned = [index for index, text in enumerate(texts) if "worker-000" in text]
    assert len(spanned) >= 2
    for index in spanned:
        text = texts[index]
        assert re.search(r"Status\s+Subject\s+What was found", text), index
        assert f"page {index + 1} of {total}" in text


def test_the_pdf_records_its_render_inputs_for_verify(pdf_bytes, attest_evidence, attest_context):
    from auditor.report.pdf import RenderInputs, find_render_inputs, renderer_id

    found = find_render_inputs(pdf_bytes)
    assert found == [RenderInputs.of(attest_evidence, attest_context)]
    assert found[0].renderer == renderer_id()
    # rendering again from the record alone gives the same bytes: what verify --pdf relies on
    assert render_pdf(attest_evidence, found[0].context(attest_context.evidence_bytes)) == pdf_bytes
    assert b"/AcroForm" in pdf_bytes  # an empty form, for a later PAdES signature to join


def test_a_malformed_render_record_is_not_used(pdf_bytes):
    from auditor.report.pdf import find_render_inputs

    assert find_render_inputs(b"/LbauditRender <7b7d>") == []  # {} is not a record
    assert find_render_inputs(b"/LbauditRender <zz>") == []
    assert find_render_inputs(pdf_bytes + pdf_bytes) == find_render_inputs(pdf_bytes)  # duplicates dropped
