"""Typed core of lbaudit: policies, host facts, results and controls.  No I/O happens here."""

from auditor.forwardrefs import install as _remember_forward_ref_code
from auditor.pydanticimport import install as _defer_pydantic_secrets

# Before any model module imports pydantic: its import then loads no OpenSSL (auditor/pydanticimport.py).
_defer_pydantic_secrets()
# Before pydantic resolves an annotation: each distinct text is compiled once (auditor/forwardrefs.py).
_remember_forward_ref_code()
