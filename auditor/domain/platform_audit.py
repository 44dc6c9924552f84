"""What the socket-logging settings of Windows and macOS mean (pure; collectors and checks share it).

Windows: the advanced audit policy subcategory "Audit Filtering Platform Connection" (Object
Access) makes the Windows Filtering Platform log 5156 (connection permitted) and 5158 (bind to a
local port permitted) on success; its GUID is the same in every display language (Microsoft,
"Audit Filtering Platform Connection"; ``auditpol /list /subcategory:* /v``).  ``auditpol /backup``
writes each subcategory's numeric Setting Value (MS-GPAC 2.2.1.3.1): 0 none (unchanged), 1
success, 2 failure, 3 success and failure, 4 none.

macOS: audit(4) (OpenBSM) writes records only while auditd runs, for the event classes of the
``flags:`` line of ``/etc/security/audit_control`` (audit_control(5)); the network class is ``nt``
(``+nt`` success only, ``-nt`` failure only, ``^`` takes a class away from what the classes before it
added: libbsm reads the list in order).  Apple deprecated audit(4) in macOS 11
and ships it disabled since macOS 14.
"""

from __future__ import annotations

WFP_CONNECTION_GUID = "{0CCE9226-69AE-11D9-BED3-505054503030}"
WFP_CONNECTION_NAME = "Filtering Platform Connection"
SETTING_VALUES = {0: "no auditing", 1: "success", 2: "failure", 3: "success and failure", 4: "none"}
SUCCESS_SETTING_VALUES = (1, 3)

BSM_NETWORK_CLASS = "nt"
# The classes of audit_class(5) as OpenBSM and macOS ship it (etc/audit_class): name -> mask bits.
# The capture does not read the host's /etc/security/audit_class, so only these names are known.
BSM_CLASSES = {
    "no": 0x00000000, "fr": 0x00000001, "fw": 0x00000002, "fa": 0x00000004, "fm": 0x00000008,
    "fc": 0x00000010, "fd": 0x00000020, "cl": 0x00000040, "pc": 0x00000080, "nt": 0x00000100,
    "ip": 0x00000200, "na": 0x00000400, "ad": 0x00000800, "lo": 0x00001000, "aa": 0x00002000,
    "ap": 0x00004000, "io": 0x20000000, "ex": 0x40000000, "ot": 0x80000000, "all": 0xFFFFFFFF,
}


class UnknownBsmClass(ValueError):
    """A class name the shipped audit_class(5) does not hold (``.name``)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def bsm_success_mask(flags: list[str]) -> int:
    """The success mask libbsm's ``getauditflagsbin`` (bsm_flags.c) builds from ``flags``: from
    nothing, class after class in order, ``^`` taking a class's bits away (``SUB_FROM_MASK``) and
    any other adding them (``ADD_TO_MASK``), ``-`` touching the failure mask only.  So ``^nt,nt``
    holds the network class and ``nt,^nt`` does not.  :class:`UnknownBsmClass` for a name
    audit_class(5) does not ship: libbsm refuses the whole list for a name it does not hold, and a
    class of the host's own audit_class holds bits that cannot be known here."""
    mask = 0
    for item in flags:
        if not item:
            continue  # strtok_r skips empty pieces
        subtract = item.startswith("^")
        selected = item[1:] if subtract else item
        if selected[:1] == "-":
            failure_only = True
            name = selected[1:]
        else:
            failure_only = False
            name = selected[1:] if selected[:1] == "+" else selected
        if name not in BSM_CLASSES:
            raise UnknownBsmClass(name)
        if failure_only:
            continue
        mask = mask & ~BSM_CLASSES[name] if subtract else mask | BSM_CLASSES[name]
    return mask


def bsm_network_audited(flags: list[str]) -> bool:
    """Whether ``flags`` audit successful network events: the ``nt`` bit is in the success mask
    libbsm builds from them (:func:`bsm_success_mask`, which raises :class:`UnknownBsmClass`)."""
    return bool(bsm_success_mask(flags) & BSM_CLASSES[BSM_NETWORK_CLASS])
