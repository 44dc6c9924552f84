"""auditor.sha256 and auditor.pydanticimport: lbaudit's digests without OpenSSL for a small run (issue 16).

A digest is SHA-256 whichever implementation makes it: each one here is compared with hashlib's
(OpenSSL's) around the size where the built-in one hands over, for every way of feeding it.  And a
whole evaluate or validate must not load OpenSSL (``_hashlib``) at all: neither through lbaudit's own
digests nor through pydantic's ``secrets``."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from auditor import sha256 as sha256_module
from auditor.sha256 import BUILTIN_MAX_BYTES, Sha256, sha256, sha256_hex

REPO = Path(__file__).resolve().parents[1]
FIXTURE_ROOT = "tests/fixtures/roots/audit-rules"  # a --root, so the child never reads this host
SIZES = [0, 1, 55, 56, 63, 64, 65, 1000, BUILTIN_MAX_BYTES - 1, BUILTIN_MAX_BYTES, BUILTIN_MAX_BYTES + 1,
         3 * BUILTIN_MAX_BYTES + 17]


def _data(size: int) -> bytes:
    return bytes((i * 7 + size) % 251 for i in range(size))


@pytest.mark.parametrize("size", SIZES)
def test_one_shot_digest_is_hashlibs(size):
    data = _data(size)
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
    assert sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    assert sha256(data).digest() == hashlib.sha256(data).digest()


# (a byte at a time only over the small sizes: over a quarter of a megabyte it says nothing more than 63 at a time)
@pytest.mark.parametrize(("size", "piece"), [(size, piece) for size in SIZES
                                             for piece in [1, 63, 4096, BUILTIN_MAX_BYTES // 2 + 1, BUILTIN_MAX_BYTES + 5]
                                             if piece != 1 or size <= 70_000])
def test_fed_piece_by_piece_the_digest_is_hashlibs_on_either_side_of_the_handover(size, piece):
    data = _data(size)
    ours, theirs = Sha256(), hashlib.sha256()
    for number, start in enumerate(range(0, size, piece)):
        ours.update(data[start:start + piece])
        theirs.update(data[start:start + piece])
        if number % 97 == 0:
            assert ours.hexdigest() == theirs.hexdigest()  # asking midway changes nothing after
    assert ours.hexdigest() == theirs.hexdigest() == hashlib.sha256(data).hexdigest()
    assert ours.digest() == theirs.digest()


def test_a_buffer_changed_after_it_was_fed_does_not_change_the_digest():
    """The pieces are kept until the digest decides where to hash them: a bytearray (or a view of
    one) the caller reuses afterwards must be hashed as it was when fed, as hashlib hashes it."""
    buffer = bytearray(b"first piece")
    ours = Sha256()
    ours.update(buffer)
    ours.update(memoryview(buffer)[:5])
    buffer[:] = b"XXXXXXXXXXX"
    assert ours.hexdigest() == hashlib.sha256(b"first piece" + b"first").hexdigest()


def test_a_str_is_refused_as_hashlib_refuses_it():
    with pytest.raises(TypeError):
        Sha256().update("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hashlib.sha256("text")  # type: ignore[arg-type]


def test_without_a_builtin_sha256_every_digest_is_openssls(monkeypatch):
    """A build without the built-in module (or with it switched off) hashes everything with hashlib's."""
    monkeypatch.setattr(sha256_module, "_BUILTIN", None)
    data = _data(1000)
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
    fed = Sha256()
    fed.update(data)
    assert fed._openssl is not None and fed.hexdigest() == hashlib.sha256(data).hexdigest()


def _in_a_fresh_interpreter(code: str) -> str:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_small_digest_loads_no_openssl_and_a_large_one_does():
    out = _in_a_fresh_interpreter(
        "import sys\nfrom auditor.sha256 import sha256_hex, BUILTIN_MAX_BYTES\n"
        "sha256_hex(b'x' * BUILTIN_MAX_BYTES)\nprint('_hashlib' in sys.modules)\n"
        "print(sha256_hex(b'x' * (BUILTIN_MAX_BYTES + 1)))\nprint('_hashlib' in sys.modules)\n")
    assert out.split() == ["False", hashlib.sha256(b"x" * (BUILTIN_MAX_BYTES + 1)).hexdigest(), "True"]


MODULES_AT_THE_END = """\
import json, sys
from auditor.cli import run
code = run({args!r})
print(json.dumps([code, sorted(sys.modules)]))
"""


@pytest.mark.slow  # a child interpreter (what it imports is the point)
@pytest.mark.parametrize("args", [
    ["validate", "policies/corp.yaml"],
    ["evaluate", "--policy", "policies/corp.yaml", "--root", FIXTURE_ROOT, "--quiet", "--output", "{tmp}/e.json"],
])
def test_evaluate_and_validate_load_no_openssl(tmp_path, args):
    """OpenSSL's libcrypto is 3.5 MiB of a 40 MiB evaluate: neither lbaudit's digests (under a
    quarter of a megabyte here) nor pydantic's import (its ``secrets``) may load it."""
    args = [a.format(tmp=tmp_path) for a in args]
    code, modules = json.loads(_in_a_fresh_interpreter(MODULES_AT_THE_END.format(args=args)).strip().splitlines()[-1])
    assert code in (0, 1, 3)
    assert {"_hashlib", "hashlib", "hmac", "secrets"}.isdisjoint(modules), sorted(
        {"_hashlib", "hashlib", "hmac", "secrets"} & set(modules))


def test_pydantic_gets_a_stand_in_that_hands_every_question_to_the_real_secrets():
    """pydantic.types keeps the stand-in as its ``secrets``; the first attribute asked imports the
    real module and answers with it, the stand-in is no longer in sys.modules after pydantic's
    import (a later ``import secrets`` is the real one), and a Secret's comparison still works."""
    out = _in_a_fresh_interpreter(
        "import sys\nimport auditor.model.base\nimport pydantic.types as t\n"
        "from auditor.pydanticimport import DeferredModule, PydanticTypesFinder\n"
        "print(isinstance(t.secrets, DeferredModule), 'secrets' in sys.modules, PydanticTypesFinder in sys.meta_path)\n"
        "from pydantic import SecretStr\n"
        "print(SecretStr('a') == SecretStr('a'), SecretStr('a') == SecretStr('b'))\n"
        "import secrets\nprint(type(secrets).__name__, t.secrets.compare_digest is secrets.compare_digest)\n"
        "print(hasattr(t.secrets, '__path__'))\n")
    assert out.split("\n") == ["True False False", "True False", "module True", "False", ""]


def test_a_pydantic_imported_before_lbaudit_is_left_as_it_is():
    out = _in_a_fresh_interpreter("import sys, pydantic.types as t, secrets\nimport auditor.model.base\n"
                                  "from auditor.pydanticimport import PydanticTypesFinder\n"
                                  "print(t.secrets is secrets, type(secrets).__name__, PydanticTypesFinder in sys.meta_path)\n")
    assert out.split() == ["True", "module", "False"]


def test_the_first_module_to_import_pydantic_may_be_any_model_module():
    """The finder is in place from the model package on, whichever module imports pydantic first (the
    catalog's controls in validate, the base in evaluate); pydantic's own loader does the loading."""
    for first in ("auditor.model.controls", "auditor.model.facts", "auditor.model.base", "auditor.storage.jsonfile"):
        out = _in_a_fresh_interpreter(f"import sys, {first}\nimport pydantic.types as t\n"
                                      "print(sorted({'_hashlib', 'hashlib', 'secrets'} & set(sys.modules)),"
                                      " type(t.__loader__).__name__, type(t.__spec__.loader.loader).__name__)\n")
        assert out.split() == ["[]", "DeferringLoader", "SourceFileLoader"], first


def test_pydantic_types_uses_secrets_only_for_compare_digest():
    """What the stand-in defers: pydantic/types.py asks ``secrets`` for compare_digest only, and only
    when called (a module-level use would import the real module at once: no harm, and no saving;
    the test above would then see ``secrets`` imported and say so)."""
    import pydantic.types

    source = Path(pydantic.types.__file__).read_text(encoding="utf-8")
    assert "\nimport secrets\n" in source
    assert set(re.findall(r"\bsecrets\.(\w+)\(", source)) == {"compare_digest"}
