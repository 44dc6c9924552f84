"""What the socket-logging settings of Windows and macOS mean (pure; collectors and checks share it).

Windows: the advanced audit policy subcategory "Audit Filtering Platform Connection" (Object
Access) makes the Windows Filtering Platform log 5156 (connection permitted) and 5158 (bind to a
local port permitted) on success; its GUID is the same in every display language (Microsoft,
"Audit Filtering Platform Connection"; ``auditpol /list /subcategory:* /v``).  ``auditpol /backup``
writes each subcategory's numeric Setting Value (MS-GPAC 2.2.1.3.1): 0 none (unchanged), 1
success, 2 failure, 3 success and failure, 4 none.

macOS: audit(4) (OpenBSM) writes records only while auditd runs, for the event classes of the
``flags:`` line of ``/etc/security/audit_control`` (audit_control(5)); the network class is ``nt``
(``+nt`` success only, ``-nt`` failure only, ``^`` excludes).  Apple deprecated audit(4) in macOS 11
and ships it disabled since macOS 14.
"""

from __future__ import annotations

WFP_CONNECTION_GUID = "{0CCE9226-69AE-11D9-BED3-505054503030}"
WFP_CONNECTION_NAME = "Filtering Platform Connection"
SETTING_VALUES = {0: "no auditing", 1: "success", 2: "failure", 3: "success and failure", 4: "none"}
SUCCESS_SETTING_VALUES = (1, 3)

BSM_NETWORK_CLASS = "nt"


def bsm_network_audited(flags: list[str]) -> bool:
    """Whether ``flags`` audit successful network events: ``nt``, ``+nt``, ``all`` or ``+all`` and no
    exclusion of them (``^nt``, ``^+nt``, ``^all``, ``^+all``)."""
    included = any(f in ("nt", "+nt", "all", "+all") for f in flags)
    excluded = any(f in ("^nt", "^+nt", "^all", "^+all") for f in flags)
    return included and not excluded
