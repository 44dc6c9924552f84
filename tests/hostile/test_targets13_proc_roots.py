"""A root given through a link of /proc (``--root /proc/PID/root``, a running container's file system
as its process sees it) is read where the kernel leads, not where the link's text points.

The kernel follows ``/proc/PID/root`` to the process's root; ``readlink`` (and so ``realpath``)
gives that root's path as the process's own mount namespace names it: ``/`` for a container that
pivoted into its root, some path that names another directory (or none) on this host otherwise.
lbaudit resolved the root with ``realpath`` and audited that directory: this host's files passed as
the container's.  Here a process in a private mount namespace is chrooted into a directory it sees
through a bind mount of the container's tree (``unshare``, a mount, Python's ``os.chroot``): this
host sees, at that same path, a compliant image, and the container's tree holds a port range too
small for its pool.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tests.cli import run_cli
from tests.factories import BOOT_BACKLOG_RULES, install_procps_boot
from tests.hostile.test_offline_images import POLICY, RANGE_CONF, SOCKET_RULES, write

TIMEOUT = 60
SMALL_RANGE = "net.ipv4.ip_local_port_range = 1024 1100\n"
POOL = ("pool", "ephemeral port pool")
# The child: chrooted into the bind-mounted tree, then asleep until killed (it needs no file there).
CHILD = "import os, sys, time; os.chroot(sys.argv[1]); os.chdir('/'); print('ready', flush=True); time.sleep(600)"


def image(root: Path, port_range: str) -> Path:
    write(root, "etc/sysctl.d/10-range.conf", port_range)
    write(root, "etc/lbaudit/policy.yaml", POLICY)  # what a scheduled scan of the image would run
    (root / "var/lib").mkdir(parents=True)
    write(root, "usr/bin/flock", "#!/bin/sh\n").chmod(0o755)  # the cron job's lock
    (root / "etc/cron.d").mkdir()
    write(root, "etc/audit/rules.d/10-socket.rules", SOCKET_RULES)
    write(root, "etc/audit/rules.d/00-backlog.rules", BOOT_BACKLOG_RULES)
    return install_procps_boot(root)  # what applies its sysctl.d at boot


@pytest.fixture
def container(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    """(pid, the tree it runs in, the directory this host sees at the path its root links to)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("needs root, unshare and mount (util-linux) for a private mount namespace")
    tree = image(tmp_path / "container", SMALL_RANGE)
    seen_here = image(tmp_path / "seen-here", RANGE_CONF)
    script = 'mount --bind "$1" "$2" && exec "$3" -c "$4" "$2"'
    process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                                str(tree), str(seen_here), sys.executable, CHILD],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            assert process.stderr is not None
            pytest.skip(f"no private mount namespace here: {process.stderr.read()[-300:]}")
        assert os.readlink(f"/proc/{process.pid}/root") == str(seen_here)  # what realpath takes
        yield process.pid, tree, seen_here
    finally:
        process.kill()
        process.wait(timeout=10)


def evaluate(root: str, where: Path) -> tuple[int, dict, dict]:
    policy = where / "policy.yaml"
    policy.write_text(POLICY)
    evidence = where / "evidence.json"
    result = run_cli("evaluate", "--policy", str(policy), "--root", root, "--output", str(evidence), cwd=where,
                     timeout=TIMEOUT)
    assert result.returncode in (0, 1, 3), result.stderr
    document = json.loads(evidence.read_text())
    findings = {(f["rule_id"], f["subject"]): f for f in document["result"]["findings"]}
    return result.returncode, findings, document["snapshot"]["provenance"]


def test_a_containers_proc_root_is_read_where_the_kernel_leads_not_at_its_links_text(container, tmp_path):
    pid, _tree, _seen_here = container
    code, findings, provenance = evaluate(f"/proc/{pid}/root", tmp_path)
    assert findings[POOL]["status"] == "fail", findings[POOL]["message"]
    assert "(1024-1100" in findings[POOL]["message"]
    assert code == 1
    assert provenance["target_id"] == f"/proc/{pid}/root"


def test_control_case_the_directory_this_host_sees_there_is_its_own_image(container, tmp_path):
    _pid, _tree, seen_here = container
    code, findings, provenance = evaluate(str(seen_here), tmp_path)
    assert findings[POOL]["status"] == "pass", findings[POOL]["message"]
    assert provenance["target_id"] == str(seen_here)


def test_schedule_into_a_proc_root_is_refused_and_writes_nowhere(container, tmp_path):
    pid, tree, seen_here = container
    before = {p: sorted(str(f) for f in p.rglob("*")) for p in (tree, seen_here)}
    result = run_cli("schedule", "install", "--backend", "cron", "--root", f"/proc/{pid}/root",
                     "--policy", "/etc/lbaudit/policy.yaml", "--executable", "/usr/bin/lbaudit", cwd=tmp_path,
                     timeout=TIMEOUT)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"/proc/{pid}/root: is reached through a link of /proc to another directory than its real path "
            f"({seen_here}) names") in result.stderr
    assert {p: sorted(str(f) for f in p.rglob("*")) for p in (tree, seen_here)} == before


def test_an_output_in_the_containers_tree_by_its_own_path_is_refused(container, tmp_path):
    # the tree the container runs in, named by this host's path to it: the audited image all the same
    pid, tree, seen_here = container
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    result = run_cli("evaluate", "--policy", str(policy), "--root", f"/proc/{pid}/root", "--output",
                     str(tree / "evidence.json"), cwd=tmp_path, timeout=TIMEOUT)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"{tree / 'evidence.json'} (evidence) is inside the offline root directory /proc/{pid}/root: writing "
            "it would change the image being audited") in result.stderr
    assert not (tree / "evidence.json").exists() and not (seen_here / "evidence.json").exists()


def test_an_output_through_a_proc_link_is_refused_not_written_where_its_text_points(container, tmp_path):
    pid, tree, seen_here = container
    other = image(tmp_path / "other", RANGE_CONF)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    result = run_cli("evaluate", "--policy", str(policy), "--root", str(other), "--output",
                     f"/proc/{pid}/root/evidence.json", cwd=tmp_path, timeout=TIMEOUT)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"/proc/{pid}/root/evidence.json: cannot write evidence: it is reached through a link of /proc whose "
            f"text names another file ({seen_here / 'evidence.json'}) than the one it leads to") in result.stderr
    assert not (seen_here / "evidence.json").exists()  # before: written here, in another directory of this host
    assert not (tree / "evidence.json").exists()


def test_a_policy_through_a_proc_link_is_refused_not_read_where_its_text_points(container, tmp_path):
    pid, tree, seen_here = container
    write(tree, "etc/lbaudit/policy.yaml", POLICY)
    write(seen_here, "etc/lbaudit/policy.yaml", POLICY.replace("id: hostile-offline", "id: another-policy"))
    result = run_cli("evaluate", "--policy", f"/proc/{pid}/root/etc/lbaudit/policy.yaml", "--root", str(seen_here),
                     "--output", str(tmp_path / "evidence.json"), cwd=tmp_path, timeout=TIMEOUT)
    assert result.returncode == 2, result.stdout + result.stderr  # before: the policy another-policy, judged
    assert (f"/proc/{pid}/root/etc/lbaudit/policy.yaml: cannot read policy: it is reached through a link of /proc "
            "whose text names another file") in result.stderr
    assert not (tmp_path / "evidence.json").exists()
