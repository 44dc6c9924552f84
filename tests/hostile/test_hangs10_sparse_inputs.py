"""A sparse file of gigabytes given as evidence is refused by its size, before a byte is read.

The safe reader (auditor.safeio.read_regular) read a regular file up to its bound before it said
"larger than": for evidence that bound is 256 MiB, read as zeros from a 5 GB sparse file and held
twice (the chunks and their join), about 550 MB of memory to refuse it.  Under a memory limit in
which lbaudit reads any real evidence file (``ulimit -v``, a container's memory), ``show``,
``diff``, ``verify``, ``report`` and ``history import`` of such a file were exit 71, "out of
memory ... raise the limit", instead of exit 2 naming the file and what is wrong with it.  Now a
regular file whose size is past the bound is refused from its ``fstat``.

Each command runs as a real process under an address-space limit (RLIMIT_AS) that the control
case shows is ample for a real evidence file; the sparse file takes no space on disk.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.storage.snapshot import snapshot_bytes
from tests.hostile.test_input_loaders import POLICY, rich_snapshot

REPO = Path(__file__).resolve().parents[2]
LBAUDIT = "import sys; sys.argv = ['lbaudit'] + sys.argv[1:]; from auditor.entry import main; main()"
USAGE = 2
ADDRESS_SPACE = 450 * 1024 * 1024  # lbaudit reads and renders real evidence in far less (the control case)
SPARSE_SIZE = 5 * 1024 ** 3
EVIDENCE_LIMIT = 268435456  # auditor.storage.evidence's bound on an evidence file


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _lbaudit(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LBAUDIT, *map(str, args)], capture_output=True, text=True,
                          timeout=60, cwd=cwd, preexec_fn=_limited,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "LBAUDIT_CONFIG": "",
                               "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "HOME": str(cwd)})


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real evidence file, a key, and ``sparse.json``: 5 GB of nothing."""
    work = tmp_path_factory.mktemp("sparse")
    (work / "host.snapshot.json").write_bytes(snapshot_bytes(rich_snapshot()))
    (work / "policy.yaml").write_text(POLICY)
    evaluated = subprocess.run([sys.executable, "-c", LBAUDIT, "evaluate", "--policy", "policy.yaml", "--snapshot",
                                "host.snapshot.json", "-o", "real.json", "-q"], capture_output=True, text=True,
                               timeout=60, cwd=work, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                                                          "LBAUDIT_CONFIG": "", "HOME": str(work),
                                                          "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert evaluated.returncode in (0, 1, 3), evaluated.stderr
    keys = subprocess.run([sys.executable, "-c", LBAUDIT, "keygen", "--out", "keys"], capture_output=True, text=True,
                          timeout=60, cwd=work, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                                                     "LBAUDIT_CONFIG": "", "HOME": str(work)})
    assert keys.returncode == 0, keys.stderr
    with open(work / "sparse.json", "wb") as sparse:
        sparse.truncate(SPARSE_SIZE)
    assert os.stat(work / "sparse.json").st_blocks == 0
    return work


REFUSED = f"lbaudit: sparse.json: larger than {EVIDENCE_LIMIT} bytes; not an lbaudit evidence file\n"
COMMANDS = {
    "show": ("show", "sparse.json"),
    "diff": ("diff", "real.json", "sparse.json"),
    "verify": ("verify", "sparse.json", "--pubkey", "keys/lbaudit.pub"),
    "report": ("report", "sparse.json", "--format", "sarif", "--out-dir", "out"),
    "history import": ("history", "import", "sparse.json", "--store", "imported.db"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_sparse_evidence_file_of_gigabytes_is_exit_2_by_its_size(work, command):
    (work / "out").mkdir(exist_ok=True)
    result = _lbaudit(*COMMANDS[command], cwd=work)
    assert (result.returncode, result.stderr) == (USAGE, REFUSED), (result.stdout, result.stderr)
    assert not (work / "imported.db").exists()
    assert list((work / "out").iterdir()) == []


def test_control_case_real_evidence_is_read_under_the_same_limit(work):
    shown = _lbaudit("show", "real.json", "--json", cwd=work)
    assert (shown.returncode, shown.stderr) == (0, "")
    assert json.loads(shown.stdout)["policy"]["id"] == "hostile-inputs"
    compared = _lbaudit("diff", "real.json", "real.json", cwd=work)
    assert (compared.returncode, compared.stderr) == (0, "")
    (work / "control").mkdir()
    reported = _lbaudit("report", "real.json", "--format", "sarif", "--out-dir", "control", "-q", cwd=work)
    assert (reported.returncode, reported.stderr) == (0, "")
    assert [p.name for p in (work / "control").iterdir()] == ["hostile-inputs.sarif"]
