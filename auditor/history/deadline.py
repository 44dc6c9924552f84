"""A deadline on every exchange with a PostgreSQL history store (``LBAUDIT_STORE_TIMEOUT``).

libpq bounds the connection (``connect_timeout``) and a peer that stops acknowledging what it is
sent (``tcp_user_timeout``), but nothing in libpq or psycopg bounds a server that took the
connection, finished the startup and then never answers a query, or answers it a byte at a time
for ever: its kernel acknowledges every byte, so a nightly ``evaluate --record``, ``history
verify`` or ``fleet report`` waited until killed.  A statement timeout cannot help either: it is
the server's, and the server is what does not answer.

Every exchange of psycopg 3 (a statement, a commit, a rollback, a ping) is one call of its
connection's ``wait``; the connection class here arms a watchdog around that call.  Past the
deadline the watchdog shuts the connection's socket down: the blocked wait then sees the
connection end, libpq gives up on it, and the error raised says that the server did not answer
within so many seconds.  Shutting the socket down works whatever the peer does, where cancelling
the query would ask the very server that does not answer.

Nothing here is imported for an SQLite store; psycopg is imported by SQLAlchemy anyway when an
engine for a server store is made.
"""

from __future__ import annotations

import os
import socket
import threading
from functools import lru_cache
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable

import sqlalchemy as sa

from auditor.config import DEFAULT_STORE_TIMEOUT, STORE_TIMEOUT_ENV

if TYPE_CHECKING:
    import psycopg

STORE_DRIVER = "psycopg"  # the only PostgreSQL driver whose exchanges lbaudit can bound


class _Exchange:
    """One exchange being waited for: the connection's socket (its descriptor, and the inode that
    says the descriptor still is that socket) and when to give up on it."""

    __slots__ = ("cut", "deadline", "fd", "inode")

    def __init__(self, fd: int, inode: int, deadline: float):
        self.fd, self.inode, self.deadline, self.cut = fd, inode, deadline, False

    def shut_down(self) -> None:
        """Shut the socket down (both ways): the wait on it ends at once, with libpq's "server
        closed the connection".  Through a duplicate of the descriptor, and only when it still is
        the same socket: the wait may have ended on its own and libpq closed the descriptor."""
        try:
            duplicate = os.dup(self.fd)
        except OSError:
            return
        try:
            if os.fstat(duplicate).st_ino != self.inode:
                return
            with socket.socket(fileno=duplicate) as sock:
                duplicate = -1  # the socket object owns (and closes) it now
                # marked first: the waiting thread wakes as soon as the socket is shut down
                self.cut = True
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            self.cut = False
            return
        finally:
            if duplicate >= 0:
                os.close(duplicate)


class _Watchdog:
    """One daemon thread that shuts down the socket of every exchange still waited for past its
    deadline.  Arming and disarming take a lock and touch a set; the thread is woken only when an
    exchange is due before the moment it already sleeps until (never, when every exchange has the
    same timeout and one is armed), so a run of many quick statements costs no thread switches."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._armed: set[_Exchange] = set()
        self._thread: threading.Thread | None = None
        self._wakes_at: float | None = None  # None: the thread sleeps until it is notified

    def arm(self, fd: int, seconds: float) -> _Exchange | None:
        try:
            inode = os.fstat(fd).st_ino
        except OSError:  # no socket (a closed connection): psycopg says so itself
            return None
        exchange = _Exchange(fd, inode, monotonic() + seconds)
        with self._cond:
            self._armed.add(exchange)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="lbaudit-store-deadline", daemon=True)
                self._thread.start()
            elif self._wakes_at is None or exchange.deadline < self._wakes_at:
                self._cond.notify()
        return exchange

    def disarm(self, exchange: _Exchange | None) -> None:
        if exchange is not None:
            with self._cond:
                self._armed.discard(exchange)

    def _watch(self) -> None:
        with self._cond:
            while True:
                now = monotonic()
                # Under the lock: an exchange is disarmed before its connection can close its
                # descriptor, so the descriptor shut down is never one reused for something else.
                for exchange in [e for e in self._armed if e.deadline <= now]:
                    self._armed.discard(exchange)
                    exchange.shut_down()
                self._wakes_at = min((e.deadline for e in self._armed), default=None)
                self._cond.wait(None if self._wakes_at is None else self._wakes_at - now)


_WATCHDOG = _Watchdog()


def _new_watchdog_in_child() -> None:
    # A forked child (a fleet worker) has no watchdog thread, and the lock may have been held by it.
    global _WATCHDOG
    _WATCHDOG = _Watchdog()


os.register_at_fork(after_in_child=_new_watchdog_in_child)


@lru_cache(maxsize=1)
def _bounded_connect() -> tuple[Callable[..., psycopg.Connection[Any]], type[psycopg.OperationalError]]:
    """How to connect with a deadline on each exchange (``connect(seconds, *args, **kwargs)``: a
    psycopg Connection), and the error a deadline raises (a psycopg OperationalError, so that
    SQLAlchemy takes the connection for lost and lbaudit's store reports it as any other database
    error, naming the store)."""
    import psycopg

    class StoreTimeout(psycopg.OperationalError):
        pass

    class DeadlineConnection(psycopg.Connection[Any]):
        store_timeout: int = DEFAULT_STORE_TIMEOUT  # seconds; set by connect() below
        _timed_out = False

        def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                fd = self.pgconn.socket
            except psycopg.Error:  # closed: let psycopg raise its own error
                return super().wait(gen, *args, **kwargs)
            exchange = _WATCHDOG.arm(fd, self.store_timeout)
            try:
                return super().wait(gen, *args, **kwargs)
            except psycopg.Error:
                if (exchange is not None and exchange.cut) or self._timed_out:
                    self._timed_out = True
                    raise StoreTimeout(f"the PostgreSQL server did not answer within {self.store_timeout} s "
                                       f"({STORE_TIMEOUT_ENV})") from None
                raise
            finally:
                _WATCHDOG.disarm(exchange)
                # the answer may have come as the socket was shut down: the next exchange then fails
                self._timed_out = self._timed_out or (exchange is not None and exchange.cut)

    def connect(seconds: int, *args: Any, **kwargs: Any) -> DeadlineConnection:
        connection = DeadlineConnection.connect(*args, **kwargs)
        connection.store_timeout = seconds
        return connection

    return connect, StoreTimeout


LEAST_CONNECT_SECONDS = 2  # libpq's and psycopg's least connect_timeout: a smaller one is read as 2
MAX_ATTEMPTS_SHOWN = 8  # of a URL of many hosts, the attempts an error names one by one
# The keyword arguments of psycopg.Connection.connect that are psycopg's, not connection parameters
_CONNECTION_ARGUMENTS = ("autocommit", "prepare_threshold", "context", "row_factory", "cursor_factory")


def bound_exchanges(engine: sa.engine.Engine, seconds: int, url_connect_timeout: str | None) -> None:
    """Make every connection of ``engine`` (a psycopg 3 engine) one whose each exchange with the
    server gives up after ``seconds``, and whose making, every host of the URL and every address of
    its names included, ends within one limit: the URL's ``connect_timeout``, else ``seconds``.  A
    connection not made within it raises the same error, saying so."""
    connect_bounded, timeout_error = _bounded_connect()
    limit = (f"{url_connect_timeout} s (connect_timeout in the URL)" if url_connect_timeout is not None
             else f"{seconds} s ({STORE_TIMEOUT_ENV})")

    @sa.event.listens_for(engine, "do_connect")
    def connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
        return _connect_within(connect_bounded, timeout_error, seconds, limit, cargs, cparams)


def _connect_within(connect_bounded: Callable[..., Any], timeout_error: type[Exception], seconds: int, limit: str,
                    cargs: Any, cparams: Any) -> Any:
    """A connection made within the one connection limit (``connect_timeout`` of the parameters,
    ``limit`` its words), however many hosts and addresses it may be made to.

    psycopg tries the hosts of a multi-host URL (``?host=a&host=b``), and every address a host name
    resolves to, one after the other, and gives each attempt the whole ``connect_timeout`` (as libpq
    documents it): four hosts that never answered held a command four times the limit its error then
    named.  And it resolves the names first, blocking in ``getaddrinfo`` before any limit starts: a
    name server that did not answer held the command for as long as the resolver retries.  Here the
    names are resolved in a thread waited for until the deadline, and each attempt is given its share
    of what is left (at least libpq's least, 2 s; none is begun with less than that left), so that a
    host that does not answer still leaves time to fail over to the next."""
    import psycopg
    from psycopg import conninfo

    # psycopg's own arguments (SQLAlchemy passes an adaptation context), apart from libpq's
    options = {name: cparams[name] for name in _CONNECTION_ARGUMENTS if name in cparams}
    params = conninfo.conninfo_to_dict(*cargs, **{k: v for k, v in cparams.items() if k not in options})
    total = conninfo.timeout_from_conninfo(params)
    deadline = monotonic() + total
    split = getattr(conninfo, "conninfo_attempts", None)  # psycopg 3.1.15 and later
    if split is None:  # psycopg makes the attempts itself, each given the whole limit
        attempts = [params]
    else:
        attempts = _resolved_within(split, params, deadline, timeout_error, limit)
    failures: list[str] = []
    timed_out = False
    last: psycopg.OperationalError | None = None
    for index, attempt in enumerate(attempts):
        left = deadline - monotonic()
        # whole seconds, as libpq takes them (to the nearest: the first attempt of a 2 s limit,
        # begun a few milliseconds in, is given its 2 s)
        if index and round(left) < LEAST_CONNECT_SECONDS:
            failures.append(f"{_where(attempt)} not tried (no time left)")
            timed_out = True
            continue
        share = max(LEAST_CONNECT_SECONDS, round(left / (len(attempts) - index)))
        try:
            return connect_bounded(seconds, conninfo.make_conninfo("", **{**attempt, "connect_timeout": str(share)}),
                                   **options)
        except psycopg.OperationalError as exc:
            last = exc
            expired = _connect_timed_out(exc)
            timed_out = timed_out or expired
            failures.append(f"{_where(attempt)} " + (f"did not answer within its {share} s" if expired
                                                     else _first_line(exc)))
    if len(attempts) == 1 and timed_out:
        raise timeout_error(f"the PostgreSQL server did not complete the connection within {limit}") from None
    if not timed_out and last is not None:
        raise last.with_traceback(None)  # refused, every one: as psycopg says it
    shown = failures[:MAX_ATTEMPTS_SHOWN] + ([f"{len(failures) - MAX_ATTEMPTS_SHOWN} more"]
                                            if len(failures) > MAX_ATTEMPTS_SHOWN else [])
    raise timeout_error(f"no PostgreSQL server completed the connection within {limit}, {len(attempts)} addresses "
                        f"of the URL tried in turn, each given its share: {'; '.join(shown)}") from None


def _resolved_within(split: Callable[[Any], list[Any]], params: Any, deadline: float,
                     timeout_error: type[Exception], limit: str) -> list[Any]:
    """psycopg's connection attempts of ``params`` (``split``: one per host, and per address of each
    host name, resolved), waited for until ``deadline``.  ``getaddrinfo`` cannot be interrupted:
    a resolution that takes longer is left to end in its (daemon) thread, and the command ends."""
    outcome: list[Any] = []
    done = threading.Event()

    def resolve() -> None:
        try:
            outcome.append(split(params))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, raised there
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=resolve, name="lbaudit-store-resolve", daemon=True).start()
    if not done.wait(max(0.0, deadline - monotonic())):
        names = str(params.get("host") or "")
        raise timeout_error(f"the PostgreSQL server's name did not resolve within {limit}: "
                            f"{names if len(names) <= 200 else names[:197] + '...'}")
    if isinstance(outcome[0], BaseException):
        raise outcome[0].with_traceback(None)
    return list(outcome[0])


def _connect_timed_out(exc: Exception) -> bool:
    import psycopg

    connect_timeout_error = getattr(psycopg.errors, "ConnectionTimeout", None)  # psycopg >= 3.2
    return ((connect_timeout_error is not None and isinstance(exc, connect_timeout_error))
            or str(exc).startswith("connection timeout expired"))


def _where(attempt: Any) -> str:
    host = str(attempt.get("hostaddr") or attempt.get("host") or "the default host")
    port = attempt.get("port")
    return f"[{host}]:{port}" if port and ":" in host else (f"{host}:{port}" if port else host)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]
