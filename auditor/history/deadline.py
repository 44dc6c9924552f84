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


def bound_exchanges(engine: sa.engine.Engine, seconds: int, url_connect_timeout: str | None) -> None:
    """Make every connection of ``engine`` (a psycopg 3 engine) one whose each exchange with the
    server gives up after ``seconds``; a connection that libpq gave up making within its
    ``connect_timeout`` (the URL's, else ``seconds``) raises the same error, saying so."""
    import psycopg

    connect_bounded, timeout_error = _bounded_connect()
    connect_timeout_error = getattr(psycopg.errors, "ConnectionTimeout", None)  # psycopg >= 3.2
    limit = (f"{url_connect_timeout} s (connect_timeout in the URL)" if url_connect_timeout is not None
             else f"{seconds} s ({STORE_TIMEOUT_ENV})")

    @sa.event.listens_for(engine, "do_connect")
    def connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return connect_bounded(seconds, *cargs, **cparams)
        except psycopg.OperationalError as exc:
            if (connect_timeout_error is not None and isinstance(exc, connect_timeout_error)) or \
                    str(exc).startswith("connection timeout expired"):
                raise timeout_error(f"the PostgreSQL server did not complete the connection within {limit}") from None
            raise
