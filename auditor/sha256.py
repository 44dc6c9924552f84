"""SHA-256 for lbaudit's own digests, without loading OpenSSL for a run's few small ones (issue 16).

``import hashlib`` loads OpenSSL's libcrypto through ``_hashlib`` (and ``_blake2``): 3.5 MiB of the
40 MiB that a whole ``lbaudit evaluate`` may take, and some 12 M instructions, for a run whose
digests (the policy's, the facts', each finding's fingerprint, the command lines') are about 40 KB
in some 90 pieces.  CPython carries its own SHA-256 (``_sha256`` up to 3.11, ``_sha2`` from 3.12),
about six times slower a byte than OpenSSL's but already loaded with the interpreter's other
built-in modules.  A digest is the same whichever computes it (SHA-256 is one function), so each
digest here is made by the built-in one up to :data:`BUILTIN_MAX_BYTES` and by hashlib's (OpenSSL,
loaded then) beyond: a large run (thousands of listeners, megabytes of facts) pays for OpenSSL once
and hashes at its speed, a small one never loads it.  Where the interpreter has no built-in SHA-256
(a build without it, or one whose built-in hashes are switched off, as a FIPS build's may be),
hashlib's is used for everything, as before.
"""

from __future__ import annotations

from typing import Any, Callable

try:  # CPython's own implementation (Modules/sha256module.c; sha2module.c from 3.12)
    from _sha256 import sha256 as _builtin_sha256
except ImportError:  # pragma: no cover - Python 3.12+
    try:
        from _sha2 import sha256 as _builtin_sha256  # type: ignore[import-not-found, no-redef]
    except ImportError:
        _builtin_sha256 = None  # type: ignore[assignment]

# Beyond this many bytes a digest loads OpenSSL's SHA-256: about what the built-in one takes longer
# over them (some 2 ms at 90 MB/s against 550) than loading OpenSSL takes.  It is also the most a
# digest holds while it has not decided (its pieces are kept, not hashed, until then).
BUILTIN_MAX_BYTES = 256 * 1024


def _openssl(data: bytes = b"") -> Any:
    import hashlib  # here: only a digest beyond BUILTIN_MAX_BYTES (or no built-in) loads OpenSSL

    return hashlib.sha256(data)


def _builtin_or_none() -> Callable[..., Any] | None:
    """The built-in constructor, or None when it is missing or refuses to work (a build may switch
    its built-in hashes off and raise on use)."""
    if _builtin_sha256 is None:
        return None
    try:
        _builtin_sha256(b"")
    except ValueError:  # pragma: no cover - a build with its built-in hashes switched off
        return None
    return _builtin_sha256


_BUILTIN = _builtin_or_none()


class Sha256:
    """An incremental SHA-256 (``update``, ``digest``, ``hexdigest``, as hashlib's): the pieces are
    kept until they pass :data:`BUILTIN_MAX_BYTES`, then handed, with all that follows, to OpenSSL's;
    a digest that never gets there is made by the built-in one over the pieces kept."""

    __slots__ = ("_pieces", "_size", "_openssl")

    def __init__(self, data: bytes = b"") -> None:
        self._pieces: list[bytes] = []
        self._size = 0
        self._openssl: Any = None if _BUILTIN is not None else _openssl()
        if data:
            self.update(data)

    def update(self, data: bytes) -> None:
        if self._openssl is not None:
            self._openssl.update(data)
            return
        # bytes as they are; anything else copied (a bytearray or memoryview may change afterwards)
        piece = data if type(data) is bytes else bytes(memoryview(data))
        self._pieces.append(piece)
        self._size += len(piece)
        if self._size > BUILTIN_MAX_BYTES:
            self._openssl = _openssl()
            for kept in self._pieces:
                self._openssl.update(kept)
            self._pieces = []

    def _finished(self) -> Any:
        if self._openssl is not None:
            return self._openssl.copy()
        assert _BUILTIN is not None
        hasher = _BUILTIN()
        for piece in self._pieces:
            hasher.update(piece)
        return hasher

    def digest(self) -> bytes:
        return bytes(self._finished().digest())

    def hexdigest(self) -> str:
        return str(self._finished().hexdigest())


def sha256(data: bytes = b"") -> Sha256:
    """A new :class:`Sha256`, fed ``data``: hashlib.sha256's call, without loading OpenSSL for a small digest."""
    return Sha256(data)


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` in hex, by the built-in implementation up to BUILTIN_MAX_BYTES, by OpenSSL's beyond."""
    if _BUILTIN is not None and len(data) <= BUILTIN_MAX_BYTES:
        return str(_BUILTIN(data).hexdigest())
    return str(_openssl(data).hexdigest())
