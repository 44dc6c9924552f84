"""``schedule install --root IMAGE`` without --store, where the image's own configuration sets one.

The scheduled scan reads the scheduled host's /etc/lbaudit/config.yaml (and root's
~/.config/lbaudit/config.yaml), and with no --store on its command line records where that file's
``store:`` says.  The install checked only the store it was given (none), so ReadWritePaths=
left that store read-only under ProtectSystem=strict, or the unit's IPAddressDeny= blocked its
server: every nightly scan failed to record, after an install that said exit 0.  Now such a file
is refused at install (exit 2, nothing written), and naming the store with --store is the way.
"""

from __future__ import annotations

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


def _config(image_root, where: str, text: str) -> None:
    path = image_root / where.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o644)


@pytest.mark.parametrize("where", ["/etc/lbaudit/config.yaml", "/root/.config/lbaudit/config.yaml"])
def test_a_store_set_by_the_images_configuration_is_refused_without_store(image_root, where):
    _config(image_root, where, "org_name: ACME\nstore: /srv/history/h.db\n")
    before = tree(image_root)
    result = install(image_root)
    assert result.returncode == 2, result.stderr
    assert "store" in result.stderr and "--store" in result.stderr and ":2" in result.stderr
    assert tree(image_root) == before


def test_an_image_configuration_the_scan_cannot_read_is_refused(image_root):
    _config(image_root, "/etc/lbaudit/config.yaml", "stor: /srv/h.db\n")
    before = tree(image_root)
    result = install(image_root)
    assert result.returncode == 2
    assert "stor" in result.stderr
    assert tree(image_root) == before


def test_control_naming_the_store_installs_and_passes_it(image_root):
    _config(image_root, "/etc/lbaudit/config.yaml", "store: /srv/history/h.db\n")
    (image_root / "var/lib/lbaudit").mkdir(parents=True, exist_ok=True)
    result = install(image_root, "--store", "/var/lib/lbaudit/h.db")
    assert result.returncode == 0, result.stderr
    assert "--store /var/lib/lbaudit/h.db" in (image_root / "etc/systemd/system/lbaudit-scan.service").read_text()


def test_control_a_configuration_without_store_installs(image_root):
    _config(image_root, "/etc/lbaudit/config.yaml", "org_name: ACME\n")
    result = install(image_root)
    assert result.returncode == 0, result.stderr
