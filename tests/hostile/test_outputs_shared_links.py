"""Outputs through a symbolic link another user made in a shared directory (/tmp, /var/tmp, /dev/shm).

lbaudit writes an output *through* a link: it resolves the link itself (realpath) and replaces the
file the link leads to, or creates it.  The kernel, following a link, refuses one made by another
user in a sticky directory anyone may write in, unless that user owns the directory
(fs.protected_symlinks): the classic attack on programs that write to /tmp as root.  lbaudit's own
resolution never met that rule: root's ``evaluate -o /tmp/report.json``, where another user had made
/tmp/report.json a link to /etc/ld.so.preload, created /etc/ld.so.preload holding the evidence (its
listeners' process names are the other user's to choose), and a link to root's own evidence
elsewhere had it replaced.  Now such a link is refused, exit 2 before any work, for every output,
``--out-dir`` and the history store (auditor/storage/outputs.py ``refuse_shared_links``); a link of
one's own, or of the directory's owner, is still written through.

Each case needs root: the other user's link is made by chown(2) to nobody (65534).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

USAGE, WRITTEN = 2, 1  # the snapshot's listener binds 0.0.0.0: a run that writes fails its rule
NOBODY = 65534
REFUSAL = "is a symbolic link made by another user (uid 65534)"
BUNDLE = Path(__file__).parents[1] / "fixtures" / "bundles" / "macos-audited"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("needs root: another user's link is made with chown(2)")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    (tmp_path / "shared").mkdir()
    os.chmod(tmp_path / "shared", 0o1777)  # as /tmp
    (tmp_path / "victim").mkdir()
    return tmp_path


def planted(link: Path, to: Path, uid: int = NOBODY) -> Path:
    link.symlink_to(to)
    os.lchown(link, uid, uid)
    return link


def state(directory: Path) -> dict[str, object]:
    """Every entry under ``directory``: a link's target, a directory, a file's bytes and inode."""
    found: dict[str, object] = {}
    for path in sorted(directory.rglob("*")):
        name = str(path.relative_to(directory))
        if path.is_symlink():
            found[name] = f"link {os.readlink(path)}"
        elif path.is_dir():
            found[name] = "dir"
        else:
            found[name] = (path.read_bytes(), path.stat().st_ino)
    return found


def evaluate(work: Path, *args: object):
    return run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", *args, cwd=work)


@pytest.mark.parametrize("args, leads_to_a_directory", [
    (["-o", "shared/report.json"], False),
    (["-o", "e.json", "--pdf", "shared/report.json"], False),
    (["-o", "e.json", "--out-dir", "shared/report.json", "--format", "sarif"], True),
    (["-o", "e.json", "--record", "--store", "shared/report.json"], False),
    (["-o", "shared/report.json/e.json"], True),
    (["-o", "shared/report.json/../e.json"], True),  # the parent of where the link leads: victim/e.json
], ids=["evidence", "pdf", "out-dir", "store", "a-directory-on-the-way", "a-link-then-dotdot"])
def test_another_users_link_in_a_shared_directory_is_not_followed(work, args, leads_to_a_directory):
    leads_to = work / "victim" / ("reports" if leads_to_a_directory else "ld.so.preload")
    if leads_to_a_directory:
        leads_to.mkdir()
    planted(work / "shared" / "report.json", leads_to)
    before = state(work)
    result = evaluate(work, *args)
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert REFUSAL in result.stderr and str(work / "shared") in result.stderr
    assert state(work) == before  # before: the evidence (reports, store) written where the link leads


def test_another_users_link_to_an_evidence_of_ones_own_does_not_replace_it(work):
    assert evaluate(work, "-o", "victim/corp.evidence.json").returncode == WRITTEN  # root's own evidence
    planted(work / "shared" / "report.json", work / "victim" / "corp.evidence.json")
    before = state(work / "victim")
    result = evaluate(work, "-o", "shared/report.json")
    assert result.returncode == USAGE and REFUSAL in result.stderr
    assert state(work / "victim") == before  # before: replaced by this run's evidence


def test_collect_does_not_follow_another_users_link(work):
    planted(work / "shared" / "snap.json", work / "victim" / "ld.so.preload")
    result = run_cli("collect", "--replay", BUNDLE, "-o", "shared/snap.json", "-q", cwd=work)
    assert result.returncode == USAGE and REFUSAL in result.stderr
    assert state(work / "victim") == {}  # before: the snapshot written where the link leads


@pytest.mark.parametrize("owner", ["mine", "the-directory-owner", "not-a-shared-directory"])
def test_control_case_a_link_the_kernel_would_follow_is_written_through(work, owner):
    directory = work / ("private" if owner == "not-a-shared-directory" else "shared")
    directory.mkdir(exist_ok=True)
    if owner == "the-directory-owner":
        os.chown(directory, NOBODY, NOBODY)
    link = planted(directory / "report.json", work / "victim" / "e.json", uid=0 if owner == "mine" else NOBODY)
    result = evaluate(work, "-o", link.relative_to(work))
    assert result.returncode == WRITTEN, result.stderr
    assert link.is_symlink() and (work / "victim" / "e.json").is_file()
