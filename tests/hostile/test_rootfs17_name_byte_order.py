"""Configuration files whose names are not UTF-8 are applied in the order the boot applies them.

Before: lbaudit ordered an image's file names as Python strings, where a byte that is not UTF-8
(``\\x80``) is the surrogate U+DC80 and sorts after every character up to U+D7FF (``é``, U+00E9);
systemd-sysctl and procps sort by the bytes (strcmp), where ``\\x80`` (0x80) comes before ``é``
(0xC3 0xA9).  So of ``/etc/sysctl.d/\\x80-good.conf`` and ``/etc/sysctl.d/é-bad.conf`` lbaudit took
the good one's port range as the last applied, while the boot applies the bad one last: a false
pass.  augenrules' ``ls -1v`` and ``sort -zV`` (gnulib filevercmp) order by bytes too, and lbaudit's
version order weighed code points.  Now names are ordered by their bytes: the directory listing
(rootfs), sysctl.d's precedence, and augenrules' version order, checked against this machine's
own ``ls -1v`` and ``sort -zV`` on a real directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.collect.rootdir import collect_root
from auditor.domain.augenrules import augenrules_files
from tests.cli import run_cli

GOOD = b"net.ipv4.ip_local_port_range = 32768 60999\n"
BAD = b"net.ipv4.ip_local_port_range = 61000 61100\n"  # a pool of 101 ports
POLICY = 'id: p\nversion: "1"\nowner: T\nrules:\n  - id: pool\n    check: net.ephemeral_port_range\n'


def image(tmp_path: Path, good: bytes, bad: bytes) -> Path:
    root = tmp_path / "image"
    (root / "etc/sysctl.d").mkdir(parents=True)
    (root / "usr/lib/systemd").mkdir(parents=True)
    (root / "usr/lib/systemd/systemd-sysctl").write_bytes(b"\x7fELF")  # systemd-sysctl applies sysctl.d
    directory = os.fsencode(root / "etc/sysctl.d")
    for name, text in ((good, GOOD), (bad, BAD)):
        with open(os.path.join(directory, name), "wb") as file:
            file.write(text)
    return root


def pool_finding(tmp_path: Path, root: Path) -> dict:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", policy, "--root", root, "-o", evidence, "--color", "never",
                  timeout=60)
    assert run.returncode in (0, 1, 3), run.stdout + run.stderr
    (finding,) = [f for f in json.loads(evidence.read_bytes())["result"]["findings"]
                  if f["subject"] == "ephemeral port pool"]
    return finding


def test_a_non_utf8_name_sorts_before_a_utf8_one_as_the_boot_sorts_it(tmp_path):
    root = image(tmp_path, good=b"\x80-good.conf", bad="é-bad.conf".encode())  # 0x80 < 0xC3: é-bad applied last
    setting = collect_root(root, frozenset({"sysctl"})).facts.sysctl.persistent["net.ipv4.ip_local_port_range"]
    assert setting.value == "61000 61100"  # before: 32768 60999, from \x80-good.conf
    assert setting.origin == "/etc/sysctl.d/é-bad.conf:1"
    assert pool_finding(tmp_path, root)["status"] == "fail"  # before: pass


def test_control_case_the_bad_file_sorting_first_is_overridden(tmp_path):
    root = image(tmp_path, good="é-good.conf".encode(), bad=b"\x80-bad.conf")
    setting = collect_root(root, frozenset({"sysctl"})).facts.sysctl.persistent["net.ipv4.ip_local_port_range"]
    assert setting.value == "32768 60999"
    assert pool_finding(tmp_path, root)["status"] == "pass"


NAMES = [b"\x80-a.rules", "é-b.rules".encode(), b"\xff-c.rules", "\ue000-d.rules".encode(), b"10-x.rules",
         b"9-y.rules", b"a\x801.rules", "aé2.rules".encode(), b"a\xff10.rules", b"a\xff9.rules", b"~x.rules"]


@pytest.mark.parametrize("variant, command", [
    ("ls", "ls -1v"),
    ("glob", "printf '%s\\0' *.rules | sort -zV | tr '\\0' '\\n'"),
])
@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_augenrules_order_is_that_of_ls_v_and_sort_v(tmp_path, variant, command, locale):
    if shutil.which("ls") is None or shutil.which("sort") is None:
        pytest.skip("needs coreutils' ls and sort")
    for name in NAMES:
        open(os.path.join(os.fsencode(tmp_path), name), "wb").close()
    listed = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, check=True,
                            env={"PATH": os.environ["PATH"], "LC_ALL": locale}).stdout.split(b"\n")[:-1]
    assert sorted(listed) == sorted(NAMES)
    ours = [os.fsencode(name) for name in augenrules_files(os.listdir(tmp_path), variant)]
    assert ours == listed
