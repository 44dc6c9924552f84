"""Report-test helpers: the shared fixture evidence as pytest fixtures, golden files, official schemas.

The evidence itself (toy checks, policy, host) is built in ``tests/evidence_fixtures.py``, which the
PDF and signing tests read too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
import regex
from jsonschema import Draft7Validator
from jsonschema.validators import extend, validator_for

from auditor.model.evidence import Evidence
from auditor.report import ReportContext
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import make_evidence

REPO_ROOT = Path(__file__).resolve().parents[2]
# The unmodified upstream schemas: ../shared/reference beside the repository, or LBAUDIT_REFERENCE_DIR.
REFERENCE_ENV = "LBAUDIT_REFERENCE_DIR"
REFERENCE = Path(os.environ.get(REFERENCE_ENV) or REPO_ROOT / ".." / "shared" / "reference")
GOLDEN_DIR = REPO_ROOT / "tests" / "fixtures" / "golden"
UPDATE_GOLDEN_ENV = "LBAUDIT_UPDATE_GOLDEN"


def golden_context(evidence: Evidence) -> ReportContext:
    return ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="corp-baseline.json",
                         assessor="Jane Auditor")


@pytest.fixture(scope="session")
def evidence() -> Evidence:
    return make_evidence()


@pytest.fixture(scope="session")
def context(evidence) -> ReportContext:
    return golden_context(evidence)


def in_ci() -> bool:
    """CI sets CI=true (GitHub Actions, GitLab, Jenkins' plugins and most others do)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def reference_file(*parts: str) -> Path:
    """A file of ../shared/reference (unmodified upstream schemas).  On a workstation the test is
    skipped when it is absent; in CI that is a failure, so that conformance is never silently untested."""
    path = REFERENCE.joinpath(*parts)
    if not path.is_file():
        message = (f"reference file {path} is not present (check ../shared/reference out beside the repo, "
                   f"or point {REFERENCE_ENV} at it)")
        if in_ci():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return path


def conformance_module(name: str, reason: str):
    """A test extra an independent reader needs: skipped when absent on a workstation, a failure in CI."""
    if in_ci():
        import importlib

        return importlib.import_module(name)
    return pytest.importorskip(name, reason=reason)


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def check_golden(name: str, data: bytes) -> None:
    """Compare with tests/fixtures/golden/<name>; with LBAUDIT_UPDATE_GOLDEN=1, rewrite it instead."""
    path = GOLDEN_DIR / name
    if os.environ.get(UPDATE_GOLDEN_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    if not path.is_file():
        pytest.fail(f"golden file {path} is missing; create it with {UPDATE_GOLDEN_ENV}=1 and review the diff")
    expected = path.read_bytes()
    assert data.decode("utf-8") == expected.decode("utf-8"), (
        f"{name} differs from its golden file; if the change is intended, rerun with {UPDATE_GOLDEN_ENV}=1 and review"
    )


def _regex_pattern(validator, pattern, instance, schema):
    # OSCAL's token patterns use \p{L} / \p{N}, which Python's re rejects (see ../shared/reference/README.md).
    if validator.is_type(instance, "string") and not regex.search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


OscalValidator = extend(Draft7Validator, {"pattern": _regex_pattern})


@pytest.fixture(scope="session")
def oscal_validator():
    """The official OSCAL 1.1.2 assessment-results schema, with \\p{..} patterns through ``regex``."""
    schema = load_json(reference_file("oscal", "oscal_assessment-results_schema.json"))
    assert not list(Draft7Validator(Draft7Validator.META_SCHEMA).iter_errors(schema))
    return OscalValidator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


@pytest.fixture(scope="session")
def hdf_validator():
    """The Heimdall Data Format exec-json schema (the file hdf and the HTML --format hdf write)."""
    schema = load_json(reference_file("hdf", "exec-json.json"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(scope="session")
def sarif_validator():
    """The OASIS SARIF 2.1.0 (errata 01) schema; it declares draft-04."""
    schema = load_json(reference_file("sarif", "sarif-schema-2.1.0.json"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(scope="session")
def junit_schema():
    """Jenkins xUnit's junit-10.xsd, through ``xmlschema``."""
    xmlschema = conformance_module("xmlschema", "xmlschema is not installed")
    return xmlschema.XMLSchema(str(reference_file("junit", "junit-10.xsd")))
