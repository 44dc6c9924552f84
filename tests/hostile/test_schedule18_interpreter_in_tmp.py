"""`schedule install --backend systemd` with an lbaudit whose ``#!`` interpreter is under /tmp or /var/tmp.

The unit's PrivateTmp=yes gives it an empty /tmp and /var/tmp of its own, so install refuses an
executable, policy or key there; but not the interpreter the executable's ``#!`` line names: an
lbaudit entry-point script of a venv made in /tmp (``#!/tmp/venv/bin/python3``), installed in
/usr/local/bin, was installed with exit 0, and every run failed before lbaudit started (the kernel
finds no interpreter: 203/EXEC), unseen.  Now exit 2 naming the interpreter, nothing written, as for
the executable itself; the cron backend, whose scan sees the host's /tmp, still installs it."""

from __future__ import annotations

import os

import pytest

from tests.schedule.conftest import IMAGE_EXECUTABLE, make_image_root, tree
from tests.schedule.conftest import install_into_image as install


def _image(tmp_path, interpreter, link_to=None):
    root = make_image_root(tmp_path)
    script = root / IMAGE_EXECUTABLE.lstrip("/")
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f"#!{interpreter}\nimport sys\n", encoding="utf-8")
    script.chmod(0o755)
    placed = root / interpreter.lstrip("/")
    placed.parent.mkdir(parents=True, exist_ok=True)
    if link_to is None:
        placed.write_bytes(b"\x7fELF")
        placed.chmod(0o755)
    else:
        os.symlink(link_to, placed)  # absolute: inside the image it leads to the image's own file
        target = root / link_to.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"\x7fELF")
        target.chmod(0o755)
    return root


@pytest.mark.parametrize("interpreter, link_to", [
    ("/tmp/venv/bin/python3", None),
    ("/var/tmp/lbaudit-venv/bin/python3", None),
    ("/opt/venv/bin/python3", "/tmp/python-build/bin/python3.11"),
])
def test_an_interpreter_the_unit_cannot_see_is_exit_2(tmp_path, interpreter, link_to):
    root = _image(tmp_path, interpreter, link_to)
    before = tree(root)
    result = install(root)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "interpreter" in result.stderr and "PrivateTmp" in result.stderr, result.stderr
    assert interpreter in result.stderr
    assert tree(root) == before


def test_the_cron_backend_still_installs_it(tmp_path):
    root = _image(tmp_path, "/tmp/venv/bin/python3")
    result = install(root, backend="cron")
    assert result.returncode == 0, result.stderr


def test_an_interpreter_outside_tmp_is_installed(tmp_path):
    root = _image(tmp_path, "/opt/venv/bin/python3", "/usr/bin/python3.11")
    result = install(root)
    assert result.returncode == 0, result.stderr
