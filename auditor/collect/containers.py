"""Containers from the Docker Engine API: names, images, labels and published ports.

The Engine API is HTTP over the daemon's unix socket (``/var/run/docker.sock``, or the
``unix://`` path of ``DOCKER_HOST``); the standard library's ``http.client`` speaks it, so no
client package is needed.  Only GET requests are made: ``/containers/json`` and
``/containers/<id>/json`` of each running container.  A ``DOCKER_HOST`` that is not a unix socket
is not contacted (lbaudit opens no network connection): a gap says so.  Podman's Docker-compatible
socket (``/run/podman/podman.sock``) answers the same requests and is read the same way.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import stat
import threading
import time
from dataclasses import field
from functools import lru_cache
from typing import Any

from auditor.collect.parsers import UNPARSEABLE, unparseable_reason
from auditor.model.facts import Gap, GapKind, PublishedPort, Workload
from auditor.model.records import mutable_record
from auditor.resource_limits import limit_met

DEFAULT_SOCKETS = (("docker", "/var/run/docker.sock"), ("podman", "/run/podman/podman.sock"))
MAX_RESPONSE = 32 * 1024 * 1024
MAX_CONTAINERS = 10_000
API = "/v1.41"  # Docker 20.10+ and Podman 3+ answer it; newer daemons accept older versions
POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"


class EngineError(OSError):
    pass


@lru_cache(maxsize=None)
def _unix_connection() -> Any:
    """http.client's connection over a unix socket.  Made on first use: http.client imports email
    and ssl (about 35 ms), which a host without a container engine socket never needs (issue 16)."""
    import http.client

    class UnixConnection(http.client.HTTPConnection):
        def __init__(self, path: str, timeout: float) -> None:
            super().__init__("localhost", timeout=timeout)
            self._socket_path = path

        def connect(self) -> None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self._socket_path)
            except OSError:
                sock.close()
                raise
            self.sock = sock

    return UnixConnection


class EngineDeadline:
    """The time one engine is given for all its requests.  A socket timeout bounds one wait only:
    an engine that answers a byte at a time, or lists thousands of containers each answered
    just in time, held the scan for hours.  At the deadline the connection is shut down, so a
    read blocked in http.client returns, and the engine is a gap."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self, url: str) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise EngineError(f"{url}: no complete answer within {self.seconds:g} s")
        return left


def engine_get(socket_path: str, url: str, deadline: EngineDeadline) -> Any:
    """GET ``url`` from the Engine API at ``socket_path`` before ``deadline``; its JSON.  Raises
    OSError, ValueError or http.client.HTTPException."""
    import http.client  # only to talk to an engine (see _unix_connection)

    connection = _unix_connection()(socket_path, deadline.remaining(url))
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(deadline.remaining(url), cut)
    timer.daemon = True
    try:
        timer.start()
    except RuntimeError as exc:  # no thread to bound the wait (ulimit -u, pids.max): not asked, a gap naming it
        limit = limit_met(exc)
        if limit is None:
            raise
        connection.close()
        raise EngineError(f"{url}: not asked: {limit}") from None
    try:
        try:
            connection.request("GET", API + url, headers={"Host": "docker", "Accept": "application/json"})
            response = connection.getresponse()
            body = response.read(MAX_RESPONSE + 1)
        except (OSError, http.client.HTTPException) as exc:
            # The socket's own timeout is the time left at connect, so when it fires the deadline
            # has passed too; on a loaded machine it can fire just before the cut (it said "timed out")
            if expired.is_set() or isinstance(exc, TimeoutError):
                raise EngineError(f"{url}: no complete answer within {deadline.seconds:g} s") from None
            raise
        if expired.is_set():  # the cut may land between two reads and look like the end of the answer
            raise EngineError(f"{url}: no complete answer within {deadline.seconds:g} s")
        if len(body) > MAX_RESPONSE:
            raise ValueError(f"{url}: answer larger than {MAX_RESPONSE} bytes")
        if response.status != 200:
            raise EngineError(f"{url}: HTTP {response.status} {body[:200].decode('utf-8', 'replace').strip()}")
        return json.loads(body)
    finally:
        timer.cancel()
        connection.close()


def engine_sockets(environ: dict[str, str] | None = None) -> tuple[list[tuple[str, str]], list[Gap]]:
    """The Engine API sockets to ask, by runtime: ``DOCKER_HOST`` when set, else the default paths
    that exist as sockets.  A ``DOCKER_HOST`` that is no unix socket is a gap."""
    environ = dict(os.environ) if environ is None else environ
    gaps: list[Gap] = []
    host = environ.get("DOCKER_HOST", "").strip()
    if host:
        if host.startswith("unix://"):
            return [("docker", host[len("unix://"):])], gaps
        gaps.append(Gap(section="netns", path=("published", "engine"),
                        reason=f"DOCKER_HOST={host} is not a unix socket: lbaudit opens no network connection, so "
                               "the engine's containers and published ports were not read"))
        return [], gaps
    found = []
    for runtime, path in DEFAULT_SOCKETS:
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                found.append((runtime, path))
        except FileNotFoundError:
            continue
        except OSError as exc:
            gaps.append(Gap(section="netns", path=("published", "engine"), reason=f"{path}: {exc.strerror or exc}"))
    return found, gaps


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@mutable_record
class EngineView:
    """What the engines said: one workload per running container, its pid, sandbox key and addresses."""

    workloads: list[tuple[Workload, int | None, str | None]] = field(default_factory=list)  # (workload, pid, sandbox)
    published: list[PublishedPort] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)


def _published(runtime: str, inspect: dict[str, Any], name: str | None, cid: str) -> list[PublishedPort]:
    settings = inspect.get("NetworkSettings") or {}
    networks = settings.get("Networks") or {}
    addresses4 = [n.get("IPAddress") for n in networks.values() if isinstance(n, dict) and n.get("IPAddress")]
    addresses6 = [n.get("GlobalIPv6Address") for n in networks.values()
                  if isinstance(n, dict) and n.get("GlobalIPv6Address")]
    ports = []
    # What the Engine API never writes is refused (a ValueError: the engine is a gap), not skipped:
    # a binding passed over was a published port missing from the facts, as if there were none.
    for spec, bindings in sorted((settings.get("Ports") or {}).items()):
        port_text, _, protocol = spec.partition("/")
        if protocol not in ("tcp", "udp", "sctp") or not (port_text.isascii() and port_text.isdigit()):
            raise ValueError(f"/containers/{cid[:12]}/json: NetworkSettings.Ports key {spec[:80]!r} is not PORT/PROTOCOL")
        if not bindings:
            continue  # exposed, not published
        for binding in bindings:
            host_ip = _text(binding.get("HostIp")) or "0.0.0.0"
            try:  # the checks compute on it as an address: "localhost" made net.bind_addresses raise
                ipaddress.ip_address(host_ip)
            except ValueError:
                raise ValueError(f"/containers/{cid[:12]}/json: {spec} HostIp {host_ip[:80]!r} is not an IP address") from None
            host_port = str(binding.get("HostPort") or "")
            low, _, high = host_port.partition("-")
            if not (low.isascii() and low.isdigit()) or (high and not (high.isascii() and high.isdigit())):
                raise ValueError(f"/containers/{cid[:12]}/json: {spec} HostPort {host_port[:80]!r} is not a port")
            target = (addresses6 if ":" in host_ip else addresses4) or [None]
            ports.append(PublishedPort(source="engine", protocol=protocol, host_address=host_ip,
                                       host_port=int(low), host_port_end=int(high) if high.isdigit() else None,
                                       target_address=target[0], target_port=int(port_text), container_id=cid,
                                       container=name, origin=f"{runtime} engine /containers/{cid[:12]}/json"))
    return ports


def read_engines(timeout: float, environ: dict[str, str] | None = None) -> EngineView:
    view = EngineView()
    sockets, view.gaps = engine_sockets(environ)
    if sockets:
        import http.client  # only to talk to an engine (see _unix_connection)
    for runtime, path in sockets:
        deadline = EngineDeadline(timeout)  # for everything asked of this engine, not for each request
        try:
            workloads: list[tuple[Workload, int | None, str | None]] = []
            published: list[PublishedPort] = []
            listed = engine_get(path, "/containers/json", deadline)
            if not isinstance(listed, list):
                raise ValueError("/containers/json: not a list")
            if len(listed) > MAX_CONTAINERS:  # the rest would be missing from the facts, unsaid
                raise ValueError(f"/containers/json: {len(listed)} running containers, more than the {MAX_CONTAINERS} "
                                 "lbaudit reads")
            for number, entry in enumerate(listed):
                cid = entry.get("Id") if isinstance(entry, dict) else None
                if not isinstance(cid, str) or not (cid.isascii() and cid.isalnum()):
                    raise ValueError(f"/containers/json: entry {number} has no container id")
                inspect = engine_get(path, f"/containers/{cid}/json", deadline)
                config = inspect.get("Config") or {}
                labels = {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}
                name = (_text(inspect.get("Name")) or "").lstrip("/") or None
                state = inspect.get("State") or {}
                raw_pid = state.get("Pid")
                pid = raw_pid if isinstance(raw_pid, int) and raw_pid > 0 else None
                sandbox = _text((inspect.get("NetworkSettings") or {}).get("SandboxKey"))
                kubernetes = POD_NAME in labels
                workload = Workload(runtime="kubernetes" if kubernetes else runtime, id=cid, name=name,
                                    image=_text(config.get("Image")), pod=labels.get(POD_NAME),
                                    k8s_namespace=labels.get(POD_NAMESPACE), labels=labels,
                                    pids=[pid] if pid else [], source=f"cgroup + {runtime} engine API")
                workloads.append((workload, pid, sandbox))
                published += _published(runtime, inspect, name, cid)
            # an engine that failed part way adds nothing: what it said before failing is not its answer
            view.workloads += workloads
            view.published += published
            view.read.append(f"{runtime} engine API at {path}")
        except (OSError, http.client.HTTPException) as exc:
            view.gaps.append(Gap(section="netns", path=("published", "engine"),
                                 reason=f"{runtime} engine API at {path} could not be read: {exc}"))
        except UNPARSEABLE as exc:  # JSON of another shape than the Engine API's: a gap, not a crash
            view.gaps.append(Gap(section="netns", path=("published", "engine"),
                                 reason=f"{runtime} engine API at {path} could not be read: {unparseable_reason(exc)}"))
    if not sockets and not view.gaps:
        view.gaps.append(Gap(section="netns", path=("published", "engine"), kind=GapKind.NOT_APPLICABLE,
                             reason="no container engine socket (/var/run/docker.sock, /run/podman/podman.sock, "
                                    "DOCKER_HOST): no engine declares published ports here"))
    return view
