"""Parse Linux audit rules, in the file form and in the ``auditctl -l`` form, into ``AuditRule`` facts.

Pure functions: text in, rules and problems out; nothing here raises for bad input.

Both forms are normalised so that the same rule compares equal whichever way it was written
(``semantic_key``): ``auditctl -l`` reorders syscalls by number, prints ``-F key=x`` where the file
said ``-k x``, ``a0=0x2`` where it said ``a0=2``, ``-1`` where it said ``unset`` or ``4294967295``,
``-EACCES`` for ``-13``, ``-C uid!=auid`` for ``-C auid!=uid``, and a watch for
``-a always,exit -F path=... -F perm=...``.  All of these were observed with auditctl 3.0.9.

A rules file is read with the semantics of ``auditctl -R``, which is what loads it at boot: lines
apply in order (``-A`` prepends, ``-d`` deletes a matching earlier rule, ``-D`` clears), a rule that
already exists is refused, nothing changes after ``-e 2``, and the first bad line stops loading
unless ``-c`` or ``-i`` came before it.  What is returned is the rule list the kernel would hold.
"""

from __future__ import annotations

# Split along its seams (one statement and its fields; rules files as auditctl -R loads them; rules.d
# as augenrules compiles it; auditctl -l / -s output); every name stays importable from here.
from auditor.domain import auditctl_grammar as grammar
from auditor.domain.audit_loader import MAX_RULE_VISITS, parse_rules_file, parse_rules_text, rule_lines
from auditor.domain.audit_statement import (
    ACTIONS,
    AUDITCTL_LIST,
    AUDITCTL_STATUS,
    CLIENT_FLAGS,
    CONTROL_SETTINGS,
    FIELD_ALIASES,
    FIELD_NAMES,
    ID_FIELDS,
    LISTS,
    OPERATORS,
    RULES_D_LABEL,
    UNSET,
    WATCH_PERMISSIONS,
    ParsedRules,
    RuleError,
    RuleLine,
    Statement,
    format_field,
    parse_field,
    parse_statement,
    semantic_key,
    split_field,
)
from auditor.domain.auditctl_output import (
    boot_audit_param,
    boot_backlog_limit_param,
    enabled_from_status,
    number_from_status,
    parse_auditctl_list,
    parse_auditctl_status,
    pid_from_status,
    rate_limit_from_status,
)
from auditor.domain.augenrules import (
    augenrules_files,
    augenrules_strips_cr,
    augenrules_variant,
    compile_rules_d,
    parse_rules_d,
    version_compare,
)

__all__ = [
    "ACTIONS", "MAX_RULE_VISITS", "AUDITCTL_LIST", "boot_audit_param", "boot_backlog_limit_param", "AUDITCTL_STATUS", "CLIENT_FLAGS", "CONTROL_SETTINGS", "FIELD_ALIASES", "FIELD_NAMES",
    "ID_FIELDS", "LISTS", "OPERATORS", "RULES_D_LABEL", "UNSET", "WATCH_PERMISSIONS", "ParsedRules", "RuleError",
    "RuleLine", "Statement", "augenrules_files", "augenrules_strips_cr", "augenrules_variant", "compile_rules_d", "enabled_from_status", "format_field", "grammar",
    "parse_auditctl_list", "parse_auditctl_status", "parse_field", "parse_rules_d", "parse_rules_file",
    "number_from_status", "parse_rules_text", "parse_statement", "pid_from_status", "rate_limit_from_status", "rule_lines", "semantic_key", "split_field", "version_compare",
]
