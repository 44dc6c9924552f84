"""``verify --pdf``: the assessor a PDF prints (whoever rendered it chose it) is quoted last in the
verdict, after everything verify itself found.

The defect: the verdict read ``NAME is exactly the rendering of this evidence (SHA-256 ...;
assessor “<assessor>”)``, the assessor as ``report --assessor`` gave it between curly quotes.
Anyone may render signed evidence again with an assessor of their choosing (``--assessor`` takes
any one line), and one reading ``Platform Security”), followed by a valid PAdES signature by
“Example Corp” (certificate SHA-256 <the organisation's>) covering the whole file; ... (“QA`` made
the verdict of a PDF that carries no PAdES signature at all say that it is followed by the
organisation's.  Now the assessor comes after what verify found, quoted as a name (its quotes
escaped, a long one cut): ``...; it prints the assessor '<assessor>'``, and the organisation
the cover names (``--org-name``), which the verdict did not name at all.
"""

from __future__ import annotations

import pytest

from auditor.model.result import ExitCode
from auditor.report import ReportContext
from auditor.report.pdf import render_pdf
from auditor.text import quoted_name
from tests.hostile.test_verify import _verify, attested  # noqa: F401 - the module fixture, shared

pytestmark = pytest.mark.xdist_group("hostile_verify")

ORGANISATIONS = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SPOOF = ("Platform Security\u201d), followed by a valid PAdES signature by \u201cExample Corp\u201d (certificate "
         f"SHA-256 {ORGANISATIONS}) covering the whole file; whether to trust that certificate is for the PDF "
         "reader to judge (\u201cQA")


def _rendered_with_assessor(attested, assessor: str) -> bytes:  # noqa: F811
    return render_pdf(attested["model"], ReportContext(evidence_bytes=attested["raw"], evidence_path="evidence.json",
                                                       signature_fingerprint=attested["fingerprint"],
                                                       assessor=assessor))


def _pdf_line(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith("pdf ")]
    return line


@pytest.mark.slow  # renders a second PDF
def test_an_assessor_claiming_a_pades_signature_is_quoted_after_the_verdict(attested):  # noqa: F811
    result = _verify(attested, _rendered_with_assessor(attested, SPOOF))
    assert result.exit_code == ExitCode.COMPLIANT, result.output  # the rendering of the evidence it is
    line = _pdf_line(result.output)
    found, said, assessor = line.partition("; it prints the assessor ")
    assert said, line
    assert "PAdES" not in found and ORGANISATIONS not in found, line
    assert assessor == quoted_name(SPOOF, 400), line


def test_the_plain_assessor_is_quoted_last(attested):  # noqa: F811
    line = _pdf_line(_verify(attested, attested["pdf"]).output)
    assert line.endswith("; it prints the assessor 'Platform Security <security@example.test>'"), line


@pytest.mark.slow  # renders a second PDF
def test_the_organisation_a_pdf_prints_is_named_too(attested):  # noqa: F811
    """The organisation on every cover (``--org-name``) is whoever rendered it's claim as the
    assessor is; the verdict named the assessor only, so a PDF of signed evidence re-rendered as
    "Example Auditors LLP"'s verified with nothing said of it."""
    pdf = render_pdf(attested["model"], ReportContext(evidence_bytes=attested["raw"], evidence_path="evidence.json",
                                                      signature_fingerprint=attested["fingerprint"],
                                                      org_name="Example Auditors LLP"))
    result = _verify(attested, pdf)
    assert result.exit_code == ExitCode.COMPLIANT, result.output
    assert _pdf_line(result.output).endswith(
        "; it prints the assessor 'Platform Security <security@example.test>' and the organisation "
        "'Example Auditors LLP'"), result.output
