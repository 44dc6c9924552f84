"""Hostile offline images: an output of the run written into the image it audits.

``evaluate --root IMAGE --output IMAGE/etc/sysctl.d/10-range.conf`` replaced the image's own
configuration with the evidence (exit 0), and the next run read that JSON as the image's sysctl.d;
a link outside the image pointing into it did the same.  Any output (evidence, signature, report,
PDF, snapshot) whose real path is inside the root is now exit 2 before any work, and the image is
left byte for byte as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.hostile.test_offline_images import POLICY
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

TIMEOUT = 60
RANGE_FILE = "etc/sysctl.d/10-range.conf"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def _policy(image: Path) -> Path:
    policy = image.parent / "policy.yaml"
    policy.write_text(POLICY)
    return policy


@pytest.mark.parametrize("how", ["into-a-config-file", "through-a-link-outside", "report-dir-inside", "pdf-inside"])
def test_evaluate_output_inside_the_image_is_refused_and_the_image_unchanged(image: Path, how: str) -> None:
    before = _tree(image)
    evidence = image.parent / "evidence.json"
    args = ["evaluate", "--policy", str(_policy(image)), "--root", str(image)]
    if how == "into-a-config-file":
        args += ["--output", str(image / RANGE_FILE)]
    elif how == "through-a-link-outside":
        os.symlink(image / RANGE_FILE, image.parent / "evidence-link.json")
        args += ["--output", str(image.parent / "evidence-link.json")]
    elif how == "report-dir-inside":
        args += ["--output", str(evidence), "--out-dir", str(image / "etc/sysctl.d"), "--format", "sarif"]
    else:
        args += ["--output", str(evidence), "--pdf", str(image / "etc/audit/rules.d/10-socket.rules")]
    result = run_cli(*args, cwd=image.parent, timeout=TIMEOUT)
    assert result.returncode == 2, result.stderr
    assert f"inside the offline root directory {image}" in result.stderr
    assert _tree(image) == before
    assert not evidence.exists()


def test_collect_snapshot_inside_the_image_is_refused(image: Path) -> None:
    before = _tree(image)
    result = run_cli("collect", "--root", str(image), "-o", str(image / "etc/hostname"), cwd=image.parent, timeout=TIMEOUT)
    assert result.returncode == 2, result.stderr
    assert f"inside the offline root directory {image}" in result.stderr
    assert _tree(image) == before


def test_control_case_outputs_beside_the_image_are_written(image: Path) -> None:
    evidence = image.parent / "image-evidence.json"  # a name that starts like the image's: not inside it
    result = run_cli("evaluate", "--policy", str(_policy(image)), "--root", str(image), "--output", str(evidence),
                     cwd=image.parent, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert evidence.is_file()


@pytest.mark.parametrize("how", ["path", "sqlite-url", "sqlite-driver-url", "environment"])
def test_a_history_store_inside_the_image_is_refused_before_it_is_created(image: Path, how: str) -> None:
    """The store is a database created and updated in place, outside the output plan: evaluate
    --root IMAGE --record --store IMAGE/var/lib/x.db created it inside the image under audit."""
    before = _tree(image)
    store = image / "etc" / "history.db"
    evidence = image.parent / "evidence.json"
    args = ["evaluate", "--policy", str(_policy(image)), "--root", str(image), "--output", str(evidence), "--record"]
    env = {"LBAUDIT_STORE": None}
    if how == "path":
        args += ["--store", str(store)]
    elif how == "sqlite-url":
        args += ["--store", f"sqlite:///{store}"]
    elif how == "sqlite-driver-url":
        args += ["--store", f"sqlite+pysqlite:///{store}"]
    else:
        env["LBAUDIT_STORE"] = str(store)
    result = run_cli(*args, cwd=image.parent, env=env, timeout=TIMEOUT)
    assert result.returncode == 2, result.stderr
    assert f"{store} (history store) is inside the offline root directory {image}" in result.stderr
    assert not store.exists() and _tree(image) == before
    assert not evidence.exists()


def test_control_case_a_history_store_beside_the_image_records_the_run(image: Path) -> None:
    store = image.parent / "history.db"
    # an image the store can tell from others (one that names no host is not recorded: test_history22_unnamed_hosts)
    (image / "etc/hostname").write_text("image01\n")
    result = run_cli("evaluate", "--policy", str(_policy(image)), "--root", str(image), "--output",
                     str(image.parent / "evidence.json"), "--record", "--store", str(store), cwd=image.parent,
                     env={"LBAUDIT_STORE": None}, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert store.is_file()
