"""Hostile corpus, false passes: a host process in a cgroup named after a running container.

lbaudit names a process's container by its cgroup path (``/docker/<id>``, ``docker-<id>.scope``,
``libpod-<id>.scope``, ...) and then gives it the engine's name, image and labels for that id; a
``container`` exception then decides for the listeners that process holds, in the host's namespace
too (a container run with ``--network host``).  But the name of a cgroup proves nothing: any user
with a delegated cgroup subtree (systemd's ``user@UID.service``: ``systemd-run --user --scope
--unit docker-<id>``) can put a process of theirs in a cgroup so named, and every user can read a
container's id in its processes' /proc/PID/cgroup.  Before, such a process's wildcard listener on
the host passed under the container's exception.

Now a process takes the engine's name only when its cgroup is the one the engine's own process
for that container is in (or below it); otherwise it stays a workload known only by its cgroup,
which a container selector matches neither way: the listener is judged by every rule that could
apply, and is not_reviewed when they disagree (never passed by the container's exception).

A real dockerd (tests/docker_env.py), a real container, and a real cgroup made beside it (standing
for a user's delegated subtree) that a host listener is moved into.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.result import Status

pytestmark = [pytest.mark.live, pytest.mark.docker]

LISTEN = textwrap.dedent("""
    import socket, sys
    s = socket.socket(); s.bind(("0.0.0.0", 0)); s.listen()
    print(s.getsockname()[1], flush=True)
    sys.stdin.read()
""")


@pytest.fixture(scope="module")
def docker(tmp_path_factory):
    from tests.docker_env import dockerd

    with dockerd(tmp_path_factory.mktemp("dockerd"), userland_proxy=True) as daemon:
        yield daemon


def _hierarchy() -> Path:
    """A cgroup hierarchy this test may make a cgroup in (v2's, or v1's pids)."""
    for candidate in (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        if (candidate / "cgroup.procs").exists() and os.access(candidate, os.W_OK):
            return candidate
    pytest.skip("no writable cgroup hierarchy to make a cgroup in")


def test_a_host_process_in_a_cgroup_named_after_a_container_does_not_take_its_exception(docker, monkeypatch, tmp_path):
    from tests.collect.test_netns_live import live_snapshot
    from tests.docker_env import IMAGE

    name = f"lbt-impostor-{os.getpid()}"
    docker.run("run", "-d", "--name", name, IMAGE, "/bin/busybox", "httpd", "-f", "-p", "8080")
    cid = docker.run("inspect", "-f", "{{.Id}}", name)
    impostor = _hierarchy() / f"lbaudit-test-{os.getpid()}" / f"docker-{cid}.scope"
    process = subprocess.Popen([sys.executable, "-c", LISTEN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        impostor.mkdir(parents=True)
        (impostor / "cgroup.procs").write_text(str(process.pid))
        assert f"docker-{cid}.scope" in Path(f"/proc/{process.pid}/cgroup").read_text()
        monkeypatch.setenv("DOCKER_HOST", docker.host)
        snap = live_snapshot()
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)
        docker.run("rm", "-f", name)
        for directory in (impostor, impostor.parent):
            if directory.exists():
                directory.rmdir()
    [host] = [ns for ns in snap.facts.netns.namespaces if ns.current]
    mine = [w for w in host.workloads if process.pid in w.pids]
    assert [(w.id, w.name) for w in mine] == [(cid, None)]  # before: (cid, name): the container's name
    params = BindAddressParams.model_validate({"allow": ["loopback"], "exceptions": [
        {"match": {"container": name}, "allow": ["any"], "reason": "the container's web front end"}]})
    [outcome] = [o for o in net_bind_addresses.run(snap, params) if o.subject.startswith(f"tcp 0.0.0.0:{port} ")]
    assert outcome.status == Status.NOT_REVIEWED, outcome.message  # before: pass, under the container's exception
    assert "the rules that could apply disagree" in outcome.reason
    # the container itself keeps its name, found through its own cgroup
    [inside] = [ns for ns in snap.facts.netns.namespaces if any(w.id == cid and w.name == name for w in ns.workloads)]
    assert not inside.current
