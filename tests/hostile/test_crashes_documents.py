"""Inputs the earlier property tests did not reach, fuzzed through the real commands (fuzz review).

tests/hostile/test_input_loaders.py fuzzes the policy, the snapshot and evidence as ``evaluate`` and
``report`` read them, signatures and keys.  Here: evidence as ``show``, ``diff``, ``history import``
and ``verify`` read it (the wrong kind of document, a BOM, a future version, one field removed, a
lone surrogate, NaN, a duplicate key, a 1 MB string, cut short), the separate waivers file, and a
captured Windows or macOS bundle with one probe file replaced.  Each was already robust when this
file was written (no defect was found in them); the tests keep it so: exit 2 naming the file and
nothing written or recorded, or a judgement, never exit 70 or a traceback.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import loopback_only_policy, snapshot
from tests.hostile.test_input_loaders import hostile_values, mutated
from tests.hostile.test_sweep import tree

REPO = Path(__file__).resolve().parents[2]
BUNDLES = REPO / "tests" / "fixtures" / "bundles"
USAGE = 2
FUZZ = settings(max_examples=15, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("documents")
    (directory / "policy.yaml").write_text(loopback_only_policy("docs"))
    (directory / "snap.json").write_bytes(snapshot_bytes(snapshot()))
    assert run_cli("keygen", "--out", "keys", cwd=directory).returncode == 0
    run = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "ev.json", "--sign-key",
                  "keys/lbaudit.key", "--record", "--store", "store.db", "-q", cwd=directory)
    assert run.returncode in (0, 1, 3), run.stderr
    return directory


def lbaudit(*args: object, cwd: Path):
    return run_cli(*args, cwd=cwd, env={"LBAUDIT_CONFIG": ""}, timeout=60)


def assert_no_crash(run) -> None:
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]


def _evidence_variants(good: Path) -> dict[str, bytes]:
    raw = (good / "ev.json").read_bytes()
    data = json.loads(raw)
    variants = {
        "snapshot-as-evidence": (good / "snap.json").read_bytes(),
        "signature-as-evidence": (good / "ev.json.sig").read_bytes(),
        "policy-as-evidence": (good / "policy.yaml").read_bytes(),
        "bom": b"\xef\xbb\xbf" + raw,
        "cut-short": raw[: len(raw) // 2],
        "future-version": json.dumps({**data, "schema_version": "99.0"}).encode(),
        "unknown-schema": json.dumps({**data, "schema": "lbaudit/evidence-from-the-future"}).encode(),
        "lone-surrogate": raw.replace(b'"schema"', b'"\\udc80": 1, "schema"', 1),
        "nan": raw.replace(b'"schema"', b'"x": NaN, "schema"', 1),
        "duplicate-key": raw.replace(b'"schema"', b'"schema": "lbaudit/evidence", "schema"', 1),
        "one-megabyte-string": raw.replace(b'"schema"', b'"x": "' + b"a" * 1_000_000 + b'", "schema"', 1),
        "non-utf8": raw.replace(b'"schema"', b'"\xff": 1, "schema"', 1),
        "null": b"null",
        "list": b"[" + raw + b"]",
    }
    for key in data:
        variants[f"without-{key}"] = json.dumps({k: v for k, v in data.items() if k != key}).encode()
    for key in ("run", "result", "snapshot", "policy"):
        for inner in list(data[key])[:6]:
            changed = copy.deepcopy(data)
            del changed[key][inner]
            variants[f"without-{key}.{inner}"] = json.dumps(changed).encode()
    return variants


EVIDENCE_READERS = {
    "show": ["show", "{e}"],
    "diff": ["diff", "{e}", "{good}/ev.json"],
    "history import": ["history", "import", "--store", "store.db", "{e}"],
    "verify": ["verify", "{e}", "--pubkey", "{good}/keys/lbaudit.pub"],
    "report": ["report", "{e}", "--format", "sarif,junit,oscal,html", "--out-dir", "out"],
}


def test_every_evidence_variant_is_refused_naming_it_by_every_reader(good: Path, tmp_path: Path) -> None:
    shutil.copy(good / "store.db", tmp_path / "store.db")
    for name, raw in _evidence_variants(good).items():
        evidence = tmp_path / "e.json"
        evidence.write_bytes(raw)
        for reader, command in EVIDENCE_READERS.items():
            before = tree(tmp_path)
            run = lbaudit(*[a.format(e=evidence, good=good) for a in command], cwd=tmp_path)
            assert_no_crash(run)
            if reader == "verify" and run.returncode in (10, 11):  # read, then its signature does not hold
                continue
            if name.startswith("without-") and run.returncode != USAGE:  # the field was optional: read
                assert run.returncode in (0, 1, 3), (name, reader, run.returncode, run.stderr[-800:])
                continue
            assert run.returncode == USAGE, (name, reader, run.returncode, run.stderr[-800:])
            assert str(evidence) in run.stderr.splitlines()[0], (name, reader, run.stderr[:500])
            assert tree(tmp_path) == before, (name, reader)


@FUZZ
@given(data=st.data())
def test_mutated_evidence_is_read_or_refused_by_show_diff_and_import(good, tmp_path_factory, data):
    document = data.draw(mutated(json.loads((good / "ev.json").read_text())))
    work = tmp_path_factory.mktemp("evidence-fuzz")
    shutil.copy(good / "store.db", work / "store.db")
    (work / "e.json").write_text(json.dumps(document))
    reader = data.draw(st.sampled_from(["show", "diff", "history import"]))
    before = tree(work)
    run = lbaudit(*[a.format(e=work / "e.json", good=good) for a in EVIDENCE_READERS[reader]], cwd=work)
    assert_no_crash(run)
    assert run.returncode in (0, 1, 3, USAGE), (reader, run.returncode, run.stderr[-1500:])
    if run.returncode == USAGE:
        assert str(work / "e.json") in run.stderr.splitlines()[0], run.stderr[:500]
        assert tree(work) == before


WAIVERS = {"waivers": [{"rule": "listeners", "subject": "tcp 0.0.0.0:* *", "reason": "migration",
                        "approver": "CISO", "expires": "2027-03-31"}]}


@FUZZ
@given(document=mutated(WAIVERS, values=hostile_values, rounds=2))
def test_a_mutated_waivers_file_is_applied_or_refused_naming_it(good, tmp_path_factory, document):
    work = tmp_path_factory.mktemp("waivers-fuzz")
    try:
        (work / "w.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))
    except (yaml.YAMLError, UnicodeEncodeError):
        return
    before = tree(work)
    run = lbaudit("evaluate", "--policy", good / "policy.yaml", "--snapshot", good / "snap.json", "-o", "e.json",
                  "--waivers", "w.yaml", "-q", cwd=work)
    assert_no_crash(run)
    assert run.returncode in (0, 1, 3, USAGE), (run.returncode, run.stderr[-1500:])
    if run.returncode == USAGE:  # the policy's "invalid policy", then w.yaml:LINE:COLUMN: what is wrong
        assert "w.yaml" in run.stderr, run.stderr[:500]
        assert tree(work) == before
    run = lbaudit("validate", good / "policy.yaml", "--waivers", "w.yaml", cwd=work)
    assert_no_crash(run)
    assert run.returncode in (0, USAGE), run.stderr[-1500:]


@pytest.mark.parametrize("content", [b"\xef\xbb\xbfwaivers: []\n", b"\xff\xfe", b"waivers:\n  - rule: listeners\n    rea",
                                     b"waivers: null\n", b"- just a list\n", b"waivers: {}\n", b"[" * 5000],
                         ids=["bom", "utf16-bom", "cut-short", "null", "list", "mapping", "deep"])
def test_a_waivers_file_that_is_no_waivers_list_is_exit_2_naming_it(good, tmp_path, content):
    (tmp_path / "w.yaml").write_bytes(content)
    before = tree(tmp_path)
    run = lbaudit("evaluate", "--policy", good / "policy.yaml", "--snapshot", good / "snap.json", "-o", "e.json",
                  "--waivers", "w.yaml", "-q", cwd=tmp_path)
    assert_no_crash(run)
    if content.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM is allowed by YAML: an empty list of waivers
        assert run.returncode in (0, 1, 3), run.stderr
        return
    assert run.returncode == USAGE, run.stderr
    assert "w.yaml" in run.stderr, run.stderr
    assert tree(tmp_path) == before


BUNDLE_FILES = sorted((name, path.name) for name in ("windows-audited", "macos-audited")
                      for path in (BUNDLES / name).iterdir() if path.is_file())


@FUZZ
@given(which=st.sampled_from(BUNDLE_FILES),
       content=st.one_of(st.binary(max_size=400), st.sampled_from([b"", b"\x00" * 64, b"\xff\xfe" + "x".encode("utf-16-le"),
                                                                  b"\xef\xbb\xbf", b"9" * 5000, b"\r\n" * 1000])))
def test_a_bundle_with_one_probe_file_replaced_is_judged_never_a_crash(tmp_path_factory, which, content):
    bundle, name = which
    directory = tmp_path_factory.mktemp("bundle") / bundle
    shutil.copytree(BUNDLES / bundle, directory)
    (directory / name).write_bytes(content)
    run = run_cli("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--target", f"replay:{directory}",
                  "-o", directory.parent / "e.json", "-q", cwd=directory.parent, env={"LBAUDIT_CONFIG": ""}, timeout=60)
    assert_no_crash(run)
    # a spoiled probe file is a gap in its section (1 or 3); a bundle no longer recognisable is 2
    assert run.returncode in (1, 3, USAGE), (bundle, name, run.returncode, run.stderr[-1500:])
    if run.returncode == USAGE:
        assert str(directory) in run.stderr, run.stderr


@pytest.fixture(scope="module")
def rendered_pdf(good: Path) -> bytes:
    run = run_cli("report", "ev.json", "--pdf", "good.pdf", cwd=good)
    assert run.returncode == 0, run.stderr
    return (good / "good.pdf").read_bytes()


@settings(FUZZ, max_examples=8)
@given(data=st.data())
def test_a_mutated_pdf_is_verified_or_refused(good, rendered_pdf, tmp_path_factory, data):
    raw = bytearray(rendered_pdf)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw[at:at + data.draw(st.integers(min_value=0, max_value=40))] = data.draw(
            st.sampled_from([b"", b"\x00", b"<<", b">>", b"/Type /Page", b"9" * 500, b"endobj", b"%%EOF", b"\xff"]))
    work = tmp_path_factory.mktemp("pdf-fuzz")
    (work / "x.pdf").write_bytes(bytes(raw))
    run = lbaudit("verify", good / "ev.json", "--pubkey", good / "keys" / "lbaudit.pub", "--pdf", "x.pdf", cwd=work)
    assert_no_crash(run)
    assert run.returncode in (0, USAGE, 13), (run.returncode, run.stderr[-1500:])


@pytest.mark.parametrize("certificate, key, named", [
    (b"", None, "c.pem"), (b"\xff" * 64, None, "c.pem"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", None, "c.pem"),
    (None, b"", "k.pem"), (None, b"-----BEGIN PRIVATE KEY-----\n\xff\n-----END PRIVATE KEY-----\n", "k.pem"),
], ids=["empty-cert", "binary-cert", "bad-base64-cert", "empty-key", "binary-key"])
def test_a_pdf_certificate_or_key_that_is_none_is_exit_2_naming_it(good, tmp_path, certificate, key, named):
    if certificate is None:  # a real certificate, so that its key is what is read and refused
        from tests.attest.test_pades import _self_signed

        real = tmp_path / "real"
        real.mkdir()
        certificate = _self_signed(real)[0].read_bytes()
        shutil.rmtree(real)
    (tmp_path / "c.pem").write_bytes(certificate)
    (tmp_path / "k.pem").write_bytes(key if key is not None else (good / "keys" / "lbaudit.key").read_bytes())
    (tmp_path / "k.pem").chmod(0o600)
    before = tree(tmp_path)
    run = lbaudit("report", good / "ev.json", "--pdf", "x.pdf", "--pdf-cert", "c.pem", "--pdf-cert-key", "k.pem",
                  cwd=tmp_path)
    assert_no_crash(run)
    assert run.returncode == USAGE, run.stderr
    assert named in run.stderr, run.stderr
    assert tree(tmp_path) == before
