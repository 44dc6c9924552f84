"""`schedule install --backend systemd` with an executable the unit's root cannot execute.

The unit's CapabilityBoundingSet= leaves CAP_DAC_OVERRIDE out (CAP_DAC_READ_SEARCH, which it
keeps, bypasses reads and directory search, never execution), so root may execute a file only by
its owner, group or other x bit.  An lbaudit (or the venv Python its #! line names) owned by a
deploy user with mode 0744 passed the check (os.access as root with every capability) and was
installed with exit 0; every run then failed before lbaudit started (203/EXEC).  Now exit 2
naming the file, its owner and mode, nothing written; cron's root has every capability."""

from __future__ import annotations

import os
import subprocess

import pytest

from auditor.schedule import CAPABILITIES
from tests.schedule.conftest import IMAGE_EXECUTABLE, make_image_root, tree
from tests.schedule.conftest import install_into_image as install

NOBODY = 65534


@pytest.fixture
def image_root(tmp_path):
    root = make_image_root(tmp_path)
    (root / "usr/local/bin").mkdir(parents=True)
    return root


def _file(path, text, uid, gid, mode):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    return path


@pytest.mark.root  # chown
@pytest.mark.parametrize("owner, mode", [((NOBODY, NOBODY), 0o744), ((NOBODY, 0), 0o764), ((0, 0), 0o644)])
def test_an_executable_root_cannot_execute_is_refused(image_root, owner, mode):
    executable = _file(image_root / IMAGE_EXECUTABLE.lstrip("/"), "#!/bin/sh\nexit 0\n", *owner, mode)
    before = tree(image_root)
    result = install(image_root)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"{executable}: the lbaudit executable the schedule would run is not executable" in result.stderr
    assert f"mode {mode:04o}" in result.stderr and "CAP_DAC_OVERRIDE" in result.stderr, result.stderr
    assert tree(image_root) == before
    assert install(image_root, backend="cron").returncode == 0


@pytest.mark.root
def test_an_interpreter_root_cannot_execute_is_refused(image_root):
    python = _file(image_root / "opt/venv/bin/python3", "", NOBODY, NOBODY, 0o744)
    _file(image_root / IMAGE_EXECUTABLE.lstrip("/"), "#!/opt/venv/bin/python3\n", 0, 0, 0o755)
    result = install(image_root)
    assert result.returncode == 2, result.stderr
    assert f"{python}: the interpreter of {IMAGE_EXECUTABLE} (its #! line)" in result.stderr, result.stderr


@pytest.mark.root
@pytest.mark.parametrize("owner, mode", [((NOBODY, NOBODY), 0o745), ((NOBODY, 0), 0o754), ((0, 0), 0o700)])
def test_an_executable_root_can_execute_is_installed(image_root, owner, mode):
    _file(image_root / IMAGE_EXECUTABLE.lstrip("/"), "#!/bin/sh\nexit 0\n", *owner, mode)
    assert install(image_root).returncode == 0


@pytest.mark.root
def test_the_rule_is_the_kernels(tmp_path):
    """Root under the unit's bounding set, as measured: the nobody-owned 0744 script is EACCES."""
    refused = _file(tmp_path / "refused", "#!/bin/sh\nexit 0\n", NOBODY, NOBODY, 0o744)
    allowed = _file(tmp_path / "allowed", "#!/bin/sh\nexit 0\n", NOBODY, NOBODY, 0o745)
    os.chmod(tmp_path, 0o755)
    bounding = ",".join(["-all", *(f"+{c.removeprefix('CAP_').lower()}" for c in CAPABILITIES)])
    for script, code in ((refused, 126), (allowed, 0)):
        result = subprocess.run(["setpriv", f"--bounding-set={bounding}", "--inh-caps=-all", "--", "sh", "-c",
                                 f"{script}; echo $?"], capture_output=True, text=True, check=False)
        assert result.stdout.strip() == str(code), (script, result.stdout, result.stderr)
