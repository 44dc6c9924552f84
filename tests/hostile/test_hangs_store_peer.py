"""Hostile PostgreSQL peers behind ``--store postgresql+psycopg://...``: each command ends within
its deadline, exit 2, naming the store and what did not answer; never a hang, and never a run's
files left beside a record that failed.

The defect: libpq's ``connect_timeout`` bounded the connection and ``tcp_user_timeout`` a peer that
stopped acknowledging, but nothing bounded a peer that took the connection, finished the startup
handshake and then never answered a query: its kernel acknowledges every byte, so a nightly
``evaluate --record``, ``history verify`` or ``fleet report`` waited for ever.  Now every exchange
with the server has a deadline, ``LBAUDIT_STORE_TIMEOUT`` seconds (default 30): past it lbaudit
shuts the connection's socket down (:mod:`auditor.history.deadline`).

The peers are real TCP listeners on loopback that speak as much of the PostgreSQL v3 protocol as
each case needs; the last case puts a stalling proxy in front of the real test server, so that the
store stops answering at the very end of a run, once its evidence was written.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO
from tests.factories import listener, loopback_only_policy, snapshot
from tests.history.conftest import postgres_server  # noqa: F401  (the fixture: a real server for the control cases)

pytestmark = pytest.mark.slow  # a real process per case, each waiting out its deadline

USAGE = 2
STORE_TIMEOUT = 2  # seconds: LBAUDIT_STORE_TIMEOUT of every run here
BOUND = STORE_TIMEOUT + 12  # a run ends well within this (a connect, a pre-ping, the exchange and a start-up)
OUTER = 120  # the test's own limit: a run still going then is the hang this file is about
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104
READY_FOR_QUERY = b"Z\x00\x00\x00\x05I"
PARAMETERS = {"server_version": "15.4", "server_encoding": "UTF8", "client_encoding": "UTF8",
              "DateStyle": "ISO, MDY", "integer_datetimes": "on", "standard_conforming_strings": "on",
              "TimeZone": "UTC", "IntervalStyle": "postgres", "is_superuser": "off",
              "session_authorization": "u", "application_name": ""}


def _message(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("!I", len(payload) + 4) + payload


def _handshake() -> bytes:
    """AuthenticationOk, the parameters libpq and psycopg read, BackendKeyData, ReadyForQuery."""
    answer = _message(b"R", struct.pack("!I", 0))
    for name, value in PARAMETERS.items():
        answer += _message(b"S", name.encode() + b"\0" + value.encode() + b"\0")
    return answer + _message(b"K", struct.pack("!II", 4242, 2424)) + READY_FOR_QUERY


def _notice() -> bytes:
    return _message(b"N", b"SNOTICE\0VNOTICE\0C00000\0Mstill working\0\0")


def _exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the client went away")
        data += chunk
    return data


def _read_startup(conn: socket.socket) -> None:
    """The StartupMessage, after answering 'N' (no) to any SSLRequest or GSSENCRequest before it."""
    while True:
        length = struct.unpack("!I", _exactly(conn, 4))[0]
        body = _exactly(conn, length - 4)
        if struct.unpack("!I", body[:4])[0] in (SSL_REQUEST, GSSENC_REQUEST):
            conn.sendall(b"N")
            continue
        return


def _read_message(conn: socket.socket) -> tuple[bytes, bytes]:
    kind = _exactly(conn, 1)
    length = struct.unpack("!I", _exactly(conn, 4))[0]
    return kind, _exactly(conn, length - 4)


def _read_until_sync(conn: socket.socket) -> None:
    """One query of the client: a simple Query, or the extended protocol's messages up to Sync."""
    while True:
        kind, _ = _read_message(conn)
        if kind in (b"Q", b"S"):
            return


def _trickle(conn: socket.socket, data: bytes, pause: float = 0.02) -> None:
    for byte in data:
        conn.sendall(bytes([byte]))
        time.sleep(pause)


# What each peer does with a connection it accepted (returning holds it open until the test ends).
def _silent(conn: socket.socket) -> None:
    """Takes the connection and never reads or says a thing: a frozen server, a stuck proxy."""


def _startup_unanswered(conn: socket.socket) -> None:
    _read_startup(conn)


def _half_handshake(conn: socket.socket) -> None:
    """Authenticates the client, then never says it is ready."""
    _read_startup(conn)
    conn.sendall(_message(b"R", struct.pack("!I", 0)))


def _handshake_byte_by_byte(conn: socket.socket) -> None:
    """Answers the startup one byte at a time and never stops: parameter after parameter."""
    _read_startup(conn)
    _trickle(conn, _message(b"R", struct.pack("!I", 0)))
    while True:
        _trickle(conn, _message(b"S", b"lbaudit_test\0still starting\0"))


def _query_unanswered(conn: socket.socket) -> None:
    """Completes the handshake, reads the first query, never answers it: its kernel acknowledges
    every byte, so neither TCP keepalives nor tcp_user_timeout ever see anything wrong."""
    _read_startup(conn)
    conn.sendall(_handshake())
    _read_until_sync(conn)


def _answer_byte_by_byte(conn: socket.socket) -> None:
    """Completes the handshake, then answers the first query with notices, one byte at a time, for
    ever: the server is never silent, so no timeout of inactivity would ever fire."""
    _read_startup(conn)
    conn.sendall(_handshake())
    _read_until_sync(conn)
    while True:
        _trickle(conn, _notice())


def _closed_mid_answer(conn: socket.socket) -> None:
    """Completes the handshake, reads the first query, sends half a row description and closes."""
    _read_startup(conn)
    conn.sendall(_handshake())
    _read_until_sync(conn)
    conn.sendall(b"T\x00\x00\x00\x40\x00\x02id")
    conn.shutdown(socket.SHUT_RDWR)


class FakePeer:
    """A listener on 127.0.0.1 whose every accepted connection is handled by ``behave`` in a thread
    of its own, and kept open until the test ends."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self.behave = behave
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self) -> str:
        return f"postgresql+psycopg://u@127.0.0.1:{self.port}/db"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.behave(conn)
        except OSError:  # the client went away (lbaudit gave up): what the test waits for
            return
        self.stopped.wait()

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def _env() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1",
            "LBAUDIT_CONFIG": "", "HOME": "/nonexistent", "LBAUDIT_STORE_TIMEOUT": str(STORE_TIMEOUT)}


def lbaudit(args: list[object], cwd: Path, outer: float = OUTER) -> tuple[int, str, float]:
    """``lbaudit ARGS`` as a real process: exit code, standard error, seconds it took.  A run still
    going after ``outer`` seconds is killed and fails the test as the hang it is."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "auditor.cli", *map(str, args)], cwd=cwd, env=_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, err = process.communicate(timeout=outer)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"lbaudit {' '.join(map(str, args))} still ran after {outer} s: it hangs on the store")
    return process.returncode, err, time.monotonic() - started


def tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (pip install 'lbaudit[postgres]')")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("store-peer"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 6379)]), tmp_path / "snap.json")
    return tmp_path


def _peer(request: pytest.FixtureRequest, behave: Callable[[socket.socket], None]) -> FakePeer:
    peer = FakePeer(behave)
    request.addfinalizer(peer.close)
    return peer


def _refused_in_time(code: int, err: str, took: float, peer: FakePeer, what: str) -> None:
    shown = f"postgresql+psycopg://u@127.0.0.1:{peer.port}/db"
    assert (code, err) == (USAGE, f"lbaudit: {shown}: cannot open the history store: {what}\n"), err
    assert took < BOUND, f"took {took:.1f} s"
    assert peer.accepted  # the peer was reached: this is not a refused connection


CONNECTING = (f"the PostgreSQL server did not complete the connection within {STORE_TIMEOUT} s "
              "(LBAUDIT_STORE_TIMEOUT)")
ANSWERING = f"the PostgreSQL server did not answer within {STORE_TIMEOUT} s (LBAUDIT_STORE_TIMEOUT)"


@pytest.mark.parametrize("behave, what", [
    (_silent, CONNECTING),
    (_startup_unanswered, CONNECTING),
    (_half_handshake, CONNECTING),
    (_handshake_byte_by_byte, CONNECTING),
    (_query_unanswered, ANSWERING),
    (_answer_byte_by_byte, ANSWERING),
], ids=["silent", "startup-unanswered", "half-handshake", "handshake-byte-by-byte", "query-unanswered",
        "answer-byte-by-byte"])
def test_history_list_on_a_peer_that_does_not_answer_ends_in_time(request, work, behave, what):
    peer = _peer(request, behave)
    code, err, took = lbaudit(["history", "list", "--store", peer.url()], work)
    _refused_in_time(code, err, took, peer, what)


def test_control_case_a_peer_that_closes_mid_answer_is_exit_2_at_once(request, work):
    # libpq sees the end of the connection itself: this was exit 2 before the deadline, and stays so
    peer = _peer(request, _closed_mid_answer)
    code, err, took = lbaudit(["history", "list", "--store", peer.url()], work)
    assert code == USAGE and err.startswith(f"lbaudit: {peer.url()}: cannot open the history store: "), err
    assert "server closed the connection unexpectedly" in err and err.count("\n") == 1, err
    assert took < BOUND


@pytest.mark.parametrize("args", [
    ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json", "--format", "sarif",
     "--out-dir", "out", "--record", "--store", "{url}"],
    ["history", "verify", "--store", "{url}"],
    ["history", "import", "first.json", "--store", "{url}"],
    ["fleet", "report", "--store", "{url}"],
    ["report", "first.json", "--format", "oscal", "--out-dir", "out", "--store", "{url}"],
], ids=["evaluate-record", "history-verify", "history-import", "fleet-report", "report-store"])
def test_every_command_of_the_store_ends_in_time_and_writes_nothing(request, work, args):
    code, err, _ = lbaudit(["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "first.json",
                            "-q"], work)
    assert code == 1, err  # the evidence some commands read; the wildcard listener fails the policy
    peer = _peer(request, _query_unanswered)
    before = tree(work)
    code, err, took = lbaudit([a.format(url=peer.url()) for a in args], work)
    _refused_in_time(code, err, took, peer, ANSWERING)
    assert tree(work) == before  # no evidence, report or directory of a run that was not recorded


def test_postgresql_without_a_driver_is_read_as_psycopg_and_bounded_too(request, work):
    peer = _peer(request, _query_unanswered)
    url = f"postgresql://u@127.0.0.1:{peer.port}/db"  # psycopg, whatever SQLAlchemy's default driver
    code, err, took = lbaudit(["history", "list", "--store", url], work)
    assert (code, err) == (USAGE, f"lbaudit: {url}: cannot open the history store: {ANSWERING}\n"), err
    assert took < BOUND


def test_another_postgresql_driver_is_refused_before_connecting(request, work):
    peer = _peer(request, _query_unanswered)
    url = f"postgresql+pg8000://u@127.0.0.1:{peer.port}/db"
    code, err, _ = lbaudit(["history", "list", "--store", url], work)
    assert (code, err) == (USAGE, f"lbaudit: {url}: lbaudit talks to PostgreSQL through psycopg 3 only "
                                  "(postgresql+psycopg://...), not pg8000: it alone lets lbaudit give up on a server "
                                  "that does not answer\n"), err
    assert not peer.accepted


def test_the_configuration_file_sets_the_deadline(request, work):
    peer = _peer(request, _query_unanswered)
    (work / "config.yaml").write_text("store_timeout: 3\n")
    env = {**_env(), "LBAUDIT_CONFIG": str(work / "config.yaml")}
    del env["LBAUDIT_STORE_TIMEOUT"]
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "auditor.cli", "history", "list", "--store", peer.url()],
                            cwd=work, env=env, capture_output=True, text=True, timeout=OUTER)
    assert (result.returncode, result.stderr) == (
        USAGE, f"lbaudit: {peer.url()}: cannot open the history store: the PostgreSQL server did not answer "
               "within 3 s (LBAUDIT_STORE_TIMEOUT)\n")
    assert 3 <= time.monotonic() - started < 3 + BOUND


@pytest.mark.parametrize("value", ["abc", "1", "0", "-5", "2.5", "86401", "²"])
def test_a_malformed_store_timeout_is_refused_before_any_work(work, value):
    env = {**_env(), "LBAUDIT_STORE_TIMEOUT": value}
    result = subprocess.run([sys.executable, "-m", "auditor.cli", "evaluate", "--policy", "policy.yaml",
                             "--snapshot", "snap.json", "-o", "e.json", "-q"],
                            cwd=work, env=env, capture_output=True, text=True, timeout=OUTER)
    assert (result.returncode, result.stderr) == (
        USAGE, f"lbaudit: LBAUDIT_STORE_TIMEOUT={value!r}: expected a whole number of seconds from 2 to 86400 (how "
               "long a PostgreSQL history store has to answer)\n")
    assert not (work / "e.json").exists()


class StallingProxy:
    """A TCP proxy on 127.0.0.1 to the real test server's unix socket that passes everything on
    until the client asks to COMMIT, and from then on passes nothing either way: a server that
    stops answering at the last moment of a run, once its evidence was written."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stalled = threading.Event()
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(str(self.socket_path))
            self.open += [client, server]
            threading.Thread(target=self._to_client, args=(server, client), daemon=True).start()
            threading.Thread(target=self._to_server, args=(client, server), daemon=True).start()

    def _to_client(self, server: socket.socket, client: socket.socket) -> None:
        try:
            while chunk := server.recv(65536):
                client.sendall(chunk)
        except OSError:
            return

    def _to_server(self, client: socket.socket, server: socket.socket) -> None:
        try:
            while True:  # the untyped start: SSLRequest / GSSENCRequest (answered by the server), StartupMessage
                length = _exactly(client, 4)
                body = _exactly(client, struct.unpack("!I", length)[0] - 4)
                server.sendall(length + body)
                if struct.unpack("!I", body[:4])[0] not in (SSL_REQUEST, GSSENC_REQUEST):
                    break
            while True:
                kind, body = _read_message(client)
                if kind == b"Q" and body.lstrip().upper().startswith(b"COMMIT"):
                    self.stalled.set()
                    while client.recv(65536):  # swallowed, until lbaudit gives up on the connection
                        pass
                    break
                server.sendall(kind + struct.pack("!I", len(body) + 4) + body)
        except (OSError, ConnectionError):
            pass
        server.close()  # the server rolls the open transaction back

    def close(self) -> None:
        self.sock.close()
        for conn in self.open:
            conn.close()


def _runs(server, database: str) -> list[tuple[int, str]]:
    import psycopg

    with psycopg.connect(host=str(server.socket_dir), user="lbaudit", dbname=database) as conn:
        return [tuple(row) for row in conn.execute("SELECT id, evidence_sha256 FROM runs ORDER BY id")]


def test_a_store_that_stops_answering_at_commit_puts_the_run_back(request, work, postgres_server):  # noqa: F811
    database = postgres_server.create_database()
    direct = postgres_server.url(database)
    # control case: the real server, directly, under the same short deadline, records the run
    code, err, _ = lbaudit(["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "first.json",
                            "-q", "--record", "--store", direct], work)
    assert code == 1, err
    recorded = _runs(postgres_server, database)
    assert len(recorded) == 1
    proxy = StallingProxy(postgres_server.socket_dir / ".s.PGSQL.5432")
    request.addfinalizer(proxy.close)
    url = f"postgresql+psycopg://lbaudit@127.0.0.1:{proxy.port}/{database}"
    before = tree(work)
    code, err, took = lbaudit(["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json",
                               "--format", "sarif", "--out-dir", "out", "--record", "--store", url], work)
    assert proxy.stalled.is_set()  # it was the commit that went unanswered, the run's files written by then
    assert (code, err) == (USAGE, f"lbaudit: {url}: cannot record in the history store: {ANSWERING}\n"), err
    assert took < BOUND + 5  # the run's own work besides
    assert tree(work) == before  # the evidence and the report put back: the run is not recorded...
    assert _runs(postgres_server, database) == recorded  # ...and the store has no run of it either
    # control case: the same proxy passes a store that answers (a read commits nothing)
    code, err, _ = lbaudit(["history", "list", "--store", url], work)
    assert code == 0, err


def _fleet(work: Path) -> Path:
    for name in ("db01", "web01"):
        (work / "fetch" / name).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 5432)], hostname=name),
                       work / "fetch" / name / "lbaudit.snapshot.json")
    return work / "fetch"


def test_fleet_evaluate_record_on_a_peer_that_does_not_answer_ends_in_time(request, work):
    fetch = _fleet(work)
    peer = _peer(request, _query_unanswered)
    before = tree(work)
    code, err, took = lbaudit(["fleet", "evaluate", "--snapshots", fetch, "--policy", "policy.yaml", "--out-dir",
                               "out", "--max-age", "none", "--jobs", "2", "--record", "--store", peer.url()], work)
    _refused_in_time(code, err, took, peer, ANSWERING)
    assert tree(work) == before


def test_control_case_forked_fleet_workers_record_under_the_deadline(work, postgres_server):  # noqa: F811
    # each worker (forked while the parent's watchdog may be running) gets a watchdog of its own
    fetch = _fleet(work)
    database = postgres_server.create_database()
    code, err, _ = lbaudit(["fleet", "evaluate", "--snapshots", fetch, "--policy", "policy.yaml", "--out-dir", "out",
                            "--max-age", "none", "--jobs", "2", "--record", "--store",
                            postgres_server.url(database)], work)
    assert code == 0, err
    assert len(_runs(postgres_server, database)) == 2
