"""The metrics a scheduled scan writes into node_exporter's textfile directory.

The systemd unit runs the scan with UMask=0077 (its evidence is root's alone), and a new file got
0664 less the umask: the first <policy-id>.prom was 0600 root's, and node_exporter, which reads the
directory as its own user (prometheus on Debian), could not read it (node_textfile_scrape_error 1,
every lbaudit metric missing, so no alert on a failing verdict).  A new textfile is 0644 whatever
the umask; one that exists keeps its mode (an administrator's 0640 with the exporter's group); the
evidence still follows the umask."""

from __future__ import annotations

import os

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, snapshot


def _evaluate(tmp_path, textfiles):
    snap = tmp_path / "snap.json"
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 23)]), snap)
    return run_cli("evaluate", "--policy", "policies/corp.yaml", "--snapshot", snap, "--out-dir", tmp_path / "out",
                   "--textfile-dir", textfiles, "-q", umask=0o077)


def test_a_new_textfile_is_readable_by_the_exporter_under_the_units_umask(tmp_path):
    textfiles = tmp_path / "node-exporter"
    textfiles.mkdir()
    result = _evaluate(tmp_path, textfiles)
    assert result.returncode == 1, result.stderr  # the policy fails the wildcard listener
    assert os.stat(textfiles / "corp-baseline.prom").st_mode & 0o777 == 0o644
    assert os.stat(tmp_path / "out" / "corp-baseline.evidence.json").st_mode & 0o777 == 0o600  # the umask's


def test_an_existing_textfile_keeps_its_mode(tmp_path):
    textfiles = tmp_path / "node-exporter"
    textfiles.mkdir()
    (textfiles / "corp-baseline.prom").write_text("# HELP lbaudit_scan_info an older scan\n", encoding="utf-8")
    os.chmod(textfiles / "corp-baseline.prom", 0o640)
    assert _evaluate(tmp_path, textfiles).returncode == 1
    assert os.stat(textfiles / "corp-baseline.prom").st_mode & 0o777 == 0o640
