"""`schedule install --root IMAGE --executable PATH` where PATH is, in the image, a directory.

In an image the executable is not judged (it may be installed later), so ``--executable /usr/bin/``
(normalised to ``/usr/bin``, a directory the image has) was installed with exit 0, for systemd and
cron alike: every scheduled run would try to execute a directory (systemd's 203/EXEC, cron's
"Permission denied") and no scan would ever run.  What is there in the image is judged now: a
directory, or anything else that is not a regular file, is exit 2, nothing written; a path the
image does not have yet is still taken.
"""

from __future__ import annotations

import pytest

from tests.cli import run_cli
from tests.schedule.conftest import POLICY, install_into_image, make_image_root, tree


def _install(root, executable, backend):
    return run_cli("schedule", "install", "--backend", backend, "--root", root, "--executable", executable,
                   "--policy", POLICY)


@pytest.mark.parametrize("backend", ["systemd", "cron"])
@pytest.mark.parametrize("executable", ["/usr/bin/", "/usr/bin", "/etc/lbaudit"])
def test_a_directory_in_the_image_is_refused(tmp_path, backend, executable):
    root = make_image_root(tmp_path)
    before = tree(root)
    result = _install(root, executable, backend)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "directory" in result.stderr and "--executable" in result.stderr, result.stderr
    assert tree(root) == before


@pytest.mark.parametrize("backend", ["systemd", "cron"])
def test_an_executable_the_image_does_not_have_yet_is_still_taken(tmp_path, backend):
    root = make_image_root(tmp_path)
    assert install_into_image(root, backend=backend).returncode == 0
