"""Thousands of links in a unit directory cost a bounded number of walks, and a unit's aliases no
candidate path per alias, dash prefix and unit directory.

Two defects of the same class (work per directory entry far above what the entry needs):
- select_files walked from the root four times per link (the link's directory, /dev/null, the
  link, then _read_units the link again), and stopped at MAX_CONFIG_FILES only after the whole
  directory: a unit directory of 100,000 links (what lbaudit lists) took minutes.  Now the directory
  is resolved once, /dev/null once, and the listing stops at the bound.
- UnitFiles.dropin_dirs made every candidate drop-in path (each alias's name and dash prefixes in
  each of 13 unit directories) before keeping those that exist: one socket with 5,000 aliases of
  60 dashes took 651 MiB.  Only names some unit directory holds are put together now.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from auditor.collect import rootfs
from auditor.collect.sysctl_d import select_files

REPO = Path(__file__).resolve().parents[2]
UNITS = "/etc/systemd/system"


def unit_root(tmp_path: Path, links: int, name_of=lambda n: f"alias-{n}.socket") -> Path:
    root = tmp_path / "image"
    units = root / UNITS.lstrip("/")
    (units / "sockets.target.wants").mkdir(parents=True)
    (units / "x.socket").write_text("[Socket]\nListenStream=0.0.0.0:81\n")
    os.symlink("../x.socket", units / "sockets.target.wants/x.socket")
    for number in range(links):
        os.symlink("x.socket", units / name_of(number))
    return root


def test_a_directory_of_links_past_the_bound_is_walked_at_most_once_a_link(tmp_path, monkeypatch):
    root = unit_root(tmp_path, rootfs.MAX_CONFIG_FILES + 2_000)
    walks = 0
    real_walk = rootfs._walk

    def counted(*args):
        nonlocal walks
        walks += 1
        return real_walk(*args)

    monkeypatch.setattr(rootfs, "_walk", counted)
    files, problems = select_files(root, (UNITS,), suffix="")
    assert files == []
    assert any(f"more than {rootfs.MAX_CONFIG_FILES} files" in p for p in problems), problems
    assert walks <= 2 * (rootfs.MAX_CONFIG_FILES + 1) + 10, walks  # before: 4 a link, 48,000 and more


def test_control_case_links_under_the_bound_are_each_told_masked_or_not(tmp_path):
    root = unit_root(tmp_path, 3)
    os.symlink("/dev/null", root / UNITS.lstrip("/") / "masked.socket")
    files, problems = select_files(root, (UNITS,), suffix="")
    assert problems == []
    by_name = {f.name: f for f in files}
    assert by_name["masked.socket"].masked and not by_name["alias-1.socket"].masked
    assert not by_name["x.socket"].link and by_name["alias-2.socket"].link


def test_thousands_of_long_aliases_cost_no_candidate_path_each(tmp_path):
    root = unit_root(tmp_path, 5_000, lambda n: "-".join(["a"] * 60) + f"-{n}.socket")
    # VmHWM, the peak of this process's own memory: ru_maxrss keeps, across exec, the peak of the
    # pytest process it was forked from
    code = ("import re, sys; from pathlib import Path; "
            "from auditor.collect.systemd_sockets import unit_boot_state; "
            "state, problems = unit_boot_state(Path(sys.argv[1]), 'x.socket'); "
            "hwm = re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()); "
            "print(state, int(hwm[1]) // 1024)")
    run = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=600,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert run.returncode == 0, run.stderr
    state, peak_mib = run.stdout.split()
    assert state == "enabled"
    assert int(peak_mib) < 200, peak_mib  # before: 651 MiB
