"""`schedule install --store postgresql+psycopg://scan:PASSWORD@db/lbaudit` wrote the password into
lbaudit-scan.service and /etc/cron.d/lbaudit, both mode 0644, and every scan's command line (ps,
`systemctl show`): any local user read the history store's password.  Refused, exit 2, nothing
written; the URL without a password is written as given."""

from __future__ import annotations

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


@pytest.mark.parametrize("backend", ["systemd", "cron"])
@pytest.mark.parametrize("url", [
    "postgresql+psycopg://scan:s3cret@db.example.test/lbaudit",
    "postgresql+psycopg://scan:@db.example.test/lbaudit",  # an empty password is still one given
    "postgresql+psycopg://scan@db.example.test/lbaudit?password=s3cret",
    "postgresql+psycopg://scan@db.example.test/lbaudit?sslmode=require&sslpassword=s3cret",
])
def test_a_store_url_with_a_password_is_refused(image_root, backend, url):
    before = tree(image_root)
    result = install(image_root, "--store", url, backend=backend)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "holds a password" in result.stderr and "s3cret" not in result.stderr + result.stdout
    assert tree(image_root) == before


def test_a_store_url_without_a_password_is_written(image_root):
    url = "postgresql+psycopg://scan@/lbaudit?host=/run/postgresql"
    result = install(image_root, "--store", url)
    assert result.returncode == 0, result.stderr
    assert f"--store {url}" in (image_root / "etc/systemd/system/lbaudit-scan.service").read_text().replace('"', "")
