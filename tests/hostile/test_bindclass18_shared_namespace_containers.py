"""Hostile corpus, false passes: a container exception met by another process of the namespace.

A container selector (``container``, ``image``, ``pod``, ``k8s_namespace``) is about a container's
listeners.  In the host's namespace it matched only the container whose process holds the listener
(net.bind_addresses 1.4.1).  In any other namespace it still asked whether such a container was
*anywhere* in the namespace, and several share one: every container of a Kubernetes pod (the app
and its sidecars), ``docker run --network container:app``, and any process that entered the
namespace (``nsenter --net``, which a rootless engine's user may do) and is in no container at all.
So a sidecar's (or an outsider's) wildcard listener on the namespace's macvlan passed under the
exception written for ``container: app``.

Now, where the listener's holders are known, a container selector is asked of the containers that
hold it: the sidecar's listener fails (no exception is about it), and one held by a process in no
container seen is not decided by the container's exception (not_reviewed, the rules disagree).
A listener the app holds still passes.
"""

from __future__ import annotations

from auditor.model.facts import ProcessInfo, Workload
from auditor.model.result import Status
from tests.checks.test_net_namespaces import LO, MACVLAN, bind, namespace, with_namespaces
from tests.factories import listener

APP = Workload(runtime="kubernetes", id="a" * 64, name="app", image="shop/app:1", pod="web-7d9", k8s_namespace="shop",
               pids=[4242])
SIDECAR = Workload(runtime="kubernetes", id="b" * 64, name="proxy", image="envoy:1.30", pod="web-7d9",
                   k8s_namespace="shop", pids=[5151])
EXCEPTION = {"exceptions": [{"match": {"container": "app"}, "allow": ["any"], "reason": "the app is published"}]}


def _held_by(pid: int, name: str, port: int):
    return listener("0.0.0.0", port, processes=[ProcessInfo(pid=pid, name=name)], uid=0, user="root", inode=pid)


def _statuses(*listeners) -> dict[int, Status]:
    snap = with_namespaces(namespace(interfaces=[LO, MACVLAN], listeners=list(listeners), workloads=[APP, SIDECAR]))
    outcomes = [o for o in bind(snap, **EXCEPTION) if o.subject_detail.get("port")]
    return {int(o.subject_detail["port"]): o.status for o in outcomes}


def test_a_sidecar_s_listener_does_not_pass_under_the_app_container_s_exception():
    """Before: pass (the app was in the namespace)."""
    statuses = _statuses(_held_by(5151, "envoy", 15001), _held_by(4242, "app", 8080))
    assert statuses[15001] == Status.FAIL
    assert statuses[8080] == Status.PASS  # control: the app's own listener


def test_a_process_in_no_container_is_not_decided_by_a_container_exception():
    """A process that entered the pod's namespace (nsenter) and is in no container's cgroup.
    Before: pass."""
    statuses = _statuses(_held_by(6000, "nc", 4444))
    assert statuses[4444] == Status.NOT_REVIEWED


def test_control_case_a_pod_selector_still_matches_every_container_of_the_pod():
    snap = with_namespaces(namespace(interfaces=[LO, MACVLAN], listeners=[_held_by(5151, "envoy", 15001)],
                                     workloads=[APP, SIDECAR]))
    params = {"exceptions": [{"match": {"pod": "web-*"}, "allow": ["any"], "reason": "the pod is published"}]}
    assert [o.status for o in bind(snap, **params) if o.subject_detail.get("port")] == [Status.PASS]


def test_a_host_process_sharing_a_host_network_container_s_socket_is_judged_as_itself():
    """The host's namespace, a ``--network host`` container (pid 4242) and a host process (pid 5000)
    that both hold one wildcard socket: each can accept on it, so it is judged for each.  The
    container selector was asked of the containers of *all* its holders, so the host process met
    the container's exception too.  Before: pass ("nc pid 5000: exception 1 allows any")."""
    from auditor.model.facts import NamespaceFacts
    from tests.checks.test_net_namespaces import host_namespace
    from tests.factories import snapshot

    host = host_namespace().model_copy(update={"workloads": [APP.model_copy(update={"runtime": "docker", "pod": None,
                                                                                      "k8s_namespace": None})]})
    shared = listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=4242, name="app"), ProcessInfo(pid=5000, name="nc")],
                      uid=0, user="root", inode=9)
    alone = _held_by(4242, "app", 8081)
    snap = snapshot(listeners=[shared, alone], netns=NamespaceFacts(namespaces=[host], published=[],
                                                                    published_sources=["nat"]))
    statuses = {int(o.subject_detail["port"]): o.status for o in bind(snap, **EXCEPTION) if o.subject_detail.get("port")}
    assert statuses == {8080: Status.FAIL, 8081: Status.PASS}


def test_a_listener_of_unknown_owner_is_not_decided_by_one_of_several_containers_exceptions():
    """Its holders not known (a socket no process visible here holds): in a namespace of one
    container it is that container's, but in a pod of two it may be either's.  Before: pass under
    the app's exception, as if the app held it."""
    unknown = listener("0.0.0.0", 9090, processes=[], uid=0, user="root", inode=31)
    assert _statuses(unknown) == {9090: Status.NOT_REVIEWED}
    # control: every container there matches a pod selector, so it is decided
    snap = with_namespaces(namespace(interfaces=[LO, MACVLAN], listeners=[unknown], workloads=[APP, SIDECAR]))
    params = {"exceptions": [{"match": {"pod": "web-*"}, "allow": ["any"], "reason": "the pod is published"}]}
    assert [o.status for o in bind(snap, **params) if o.subject_detail.get("port")] == [Status.PASS]


def test_alike_holders_in_and_out_of_the_container_do_not_all_take_its_exception():
    """Two holders that look alike (same name, no exe known, same user: judged as one), one in the
    ``--network host`` container and one a host process: the selector was asked of the containers
    of either, so the host process's share passed.  Before: pass."""
    from auditor.model.facts import NamespaceFacts
    from tests.checks.test_net_namespaces import host_namespace
    from tests.factories import snapshot

    host = host_namespace().model_copy(update={"workloads": [APP.model_copy(update={"runtime": "docker", "pod": None,
                                                                                      "k8s_namespace": None})]})
    alike = listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=4242, name="nginx", user="root"),
                                                 ProcessInfo(pid=5000, name="nginx", user="root")],
                     uid=0, user="root", inode=9)
    snap = snapshot(listeners=[alike], netns=NamespaceFacts(namespaces=[host], published=[], published_sources=["nat"]))
    [status] = [o.status for o in bind(snap, **EXCEPTION) if o.subject_detail.get("port")]
    assert status == Status.NOT_REVIEWED  # which of them accepts a connection is not told
