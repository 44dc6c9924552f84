"""Shared pydantic base and the canonical JSON form used for every digest and signature."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown fields are rejected everywhere: a typo in a policy or a snapshot is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def canonical_json(value: Any) -> bytes:
    """The one canonical byte form of a JSON value: sorted keys, no insignificant whitespace, UTF-8.

    Every digest (policy, facts, evidence) and every signature is taken over these bytes, so two
    runs over the same inputs can be compared byte for byte.
    """
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_of(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON form of ``value``."""
    return sha256_hex(canonical_json(value))
