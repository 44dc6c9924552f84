"""Typed core of lbaudit: policies, host facts, results and controls.  No I/O happens here."""

from auditor.pydanticimport import install as _defer_pydantic_secrets

# Before any model module imports pydantic: its import then loads no OpenSSL (auditor/pydanticimport.py).
_defer_pydantic_secrets()
