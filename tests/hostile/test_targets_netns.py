"""Hostile entries where network namespaces are looked for: a FIFO or a device node under
/run/netns (anyone who may write there, or a broken tool, can leave one) was opened with a blocking
open(2): a FIFO held the collection forever, waiting for a writer.  Such an entry is now refused
before it is opened, a gap naming it, and the discovery finding is not_reviewed, never a pass."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect import CollectContext
from auditor.collect.netns import RUN_NETNS, collect_netns, open_namespace
from auditor.model.facts import Facts, HostSnapshot, SocketFacts
from auditor.model.result import Status
from tests.factories import provenance
from tests.netns_env import require_namespaces, unique_name

pytestmark = pytest.mark.xdist_group(name="host")  # /run/netns: with the live tests (tests/conftest.py)

HARD_TIMEOUT = 60


def _unblock(fifo: Path) -> None:
    """Open ``fifo`` for writing once, so that a reader blocked in open(2) (this test's, before the
    fix, or another checkout's collecting at the same time) returns."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass  # no reader waiting (ENXIO) or already gone


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "ns"
    os.mkfifo(fifo)
    watchdog = threading.Timer(HARD_TIMEOUT, _unblock, (fifo,))
    watchdog.start()
    try:
        with pytest.raises(OSError) as raised:
            open_namespace(str(fifo))
    finally:
        watchdog.cancel()
        _unblock(fifo)
    assert raised.value.errno == errno.EINVAL
    assert raised.value.strerror == "a FIFO, not a namespace file"


def test_a_character_device_is_refused_before_it_is_opened(tmp_path):
    device = tmp_path / "tty"
    os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(5, 0))  # /dev/tty: opening it may take a terminal
    with pytest.raises(OSError) as raised:
        open_namespace(str(device))
    assert (raised.value.errno, raised.value.strerror) == (errno.EINVAL, "a character device, not a namespace file")


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(OSError) as raised:
        open_namespace(str(tmp_path))
    assert (raised.value.errno, raised.value.strerror) == (errno.EINVAL, "a directory, not a namespace file")


@pytest.mark.live
def test_a_fifo_under_run_netns_is_a_discovery_gap_not_a_hang():
    require_namespaces()
    os.makedirs(RUN_NETNS, exist_ok=True)
    fifo = Path(RUN_NETNS) / unique_name("lbfifo")
    os.mkfifo(fifo)
    done: list[tuple] = []
    worker = threading.Thread(target=lambda: done.append(collect_netns(CollectContext(sections=frozenset({"netns"})))),
                              daemon=True)
    try:
        worker.start()
        worker.join(HARD_TIMEOUT)
        hung = worker.is_alive()
    finally:
        _unblock(fifo)
        fifo.unlink()
        worker.join(10)
    assert not hung, "collect_netns blocked opening a FIFO under /run/netns"
    [(netns, gaps)] = done
    [gap] = [g for g in gaps if str(fifo) in g.reason]
    assert gap.path == ("namespaces",)
    assert gap.reason == f"{fifo}: a FIFO, not a namespace file: the namespace it names is not seen"
    assert netns is not None and not [ns for ns in netns.namespaces if fifo.name in ns.names]
    snap = HostSnapshot(provenance=provenance(), facts=Facts(sockets=SocketFacts(listeners=[]), netns=netns), gaps=gaps)
    outcomes = net_bind_addresses.run(snap, BindAddressParams(scope="every_namespace"))
    assert [o.status for o in outcomes if o.subject.endswith("(discovery)")] == [Status.NOT_REVIEWED]
