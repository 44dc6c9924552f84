"""``/etc/audit/auditd.conf`` read as auditd 3.x reads it (src/auditd-config.c of audit-userspace),
for what decides whether the records the kernel rules select are received and written.

Pure: text in, an :class:`AuditdConfig` out; nothing here raises for bad input.

How auditd reads the file: ``fgets`` into a 512-byte buffer, a line without a newline (too long,
or the last line of a file without a final newline) is skipped; each line is split at single
spaces only (``audit_strsplit``: a tab is part of a word) into ``name = value [option]``; a first
word starting with ``#`` is a comment.  A line without `` = value``, an unknown keyword, an option
where the keyword takes none, or a value its parser refuses makes ``load_config`` fail: auditd does
not start.  Whether an ``exec`` program exists (auditd stats it) is not checked here.  Keywords and
the yes/no and action words compare case-insensitively; the last setting
of a keyword wins, and ``log_format = NOLOG`` (deprecated) turns ``write_logs`` off.  A missing
file leaves every default (write_logs yes, local_events yes).
"""

from __future__ import annotations

import os
import shlex

from auditor.errors import Problem
from auditor.model.facts import AuditdConfig

LINE_BUFFER = 512  # auditd's char buf[512]
DEFAULT_LOG_FILE = "/var/log/audit/audit.log"
DEFAULT_CONFIG_DIR = "/etc/audit"  # where auditd reads auditd.conf without -c

# keywords[] of src/auditd-config.c: the maximum number of options after the value
KEYWORDS = {
    "local_events": 0, "write_logs": 0, "log_file": 0, "log_format": 0, "log_group": 0, "flush": 0, "freq": 0,
    "num_logs": 0, "dispatcher": 0, "name_format": 0, "name": 0, "disp_qos": 0, "max_log_file": 0,
    "max_log_file_action": 0, "space_left": 0, "space_left_action": 1, "action_mail_acct": 0, "verify_email": 0,
    "admin_space_left": 0, "admin_space_left_action": 1, "disk_full_action": 1, "disk_error_action": 1,
    "priority_boost": 0, "tcp_listen_port": 0, "tcp_listen_queue": 0, "tcp_max_per_addr": 0, "use_libwrap": 0,
    "tcp_client_ports": 0, "tcp_client_max_idle": 0, "transport": 0, "enable_krb5": 0, "krb5_principal": 0,
    "krb5_key_file": 0, "tls_psk_file": 0, "tls_psk_identity": 0, "tls_cipher_suites": 0, "tls_key_exchange": 0,
    "tls_require_pqc": 0, "tls_auth": 0, "tls_crypto_profile": 0, "tls_allowed_clients": 0,
    "distribute_network": 0, "q_depth": 0, "overflow_action": 0, "max_restarts": 0, "plugin_dir": 0,
    "end_of_event_timeout": 0, "report_interval": 0,
}
YES_NO = {"yes": True, "no": False}
LOG_FORMATS = ("raw", "nolog", "enriched")
FAILURE_ACTIONS = ("ignore", "syslog", "rotate", "email", "exec", "suspend", "single", "halt")
SIZE_ACTIONS = ("ignore", "syslog", "exec", "suspend", "rotate", "keep_logs")
# what each action parser accepts: disk_full_action refuses email, disk_error_action email and
# rotate, space_left_action halt (deprecated); max_log_file_action takes no option, so its exec
# (which needs one) is always refused
ACTION_WORDS = {
    "max_log_file_action": tuple(a for a in SIZE_ACTIONS if a != "exec"),
    "space_left_action": tuple(a for a in FAILURE_ACTIONS if a != "halt"),
    "admin_space_left_action": FAILURE_ACTIONS,
    "disk_full_action": tuple(a for a in FAILURE_ACTIONS if a != "email"),
    "disk_error_action": tuple(a for a in FAILURE_ACTIONS if a not in ("email", "rotate")),
}
# clear_config(): what auditd does when the file does not set it
DEFAULT_ACTIONS = {
    "max_log_file_action": "ignore", "space_left_action": "ignore", "admin_space_left_action": "ignore",
    "disk_full_action": "ignore", "disk_error_action": "syslog",
}
# Actions after which auditd writes no more records while the condition lasts (the records the
# kernel sends meanwhile are lost): suspend stops writing; on a full disk or a write error, an
# action that neither stops the system (single, halt) nor frees space (rotate, exec) writes nothing.
LOSSY_ACTIONS = {
    "max_log_file_action": ("suspend",), "space_left_action": ("suspend",),
    "admin_space_left_action": ("suspend",),
    "disk_full_action": ("ignore", "syslog", "email", "suspend"),
    "disk_error_action": ("ignore", "syslog", "email", "suspend"),
}


def _words(text: str) -> list[str]:
    return [w for w in text.split(" ") if w]  # audit_strsplit: single spaces only


def _lines(text: str) -> list[tuple[int, str | None]]:
    """(line number, text) as get_line() returns them; None for a line auditd skips (too long, or
    without a newline)."""
    raw = text.encode("utf-8", "surrogateescape")
    out: list[tuple[int, str | None]] = []
    number = 1
    start = 0
    while start < len(raw):
        end = raw.find(b"\n", start)
        line = raw[start:] if end < 0 else raw[start:end]
        if end < 0 or len(line) > LINE_BUFFER - 2 or b"\0" in line:
            out.append((number, None))  # fgets reads no newline within the buffer: skipped
        else:
            out.append((number, line.decode("utf-8", "surrogateescape")))
        if end < 0:
            break
        start = end + 1
        number += 1
    return out


def parse_auditd_conf(text: str | None, origin: str) -> tuple[AuditdConfig, list[Problem]]:
    """The settings auditd takes from this file (None: the file does not exist, every default), and
    the lines that make auditd refuse the whole file (it then does not start)."""
    settings: dict[str, str] = {}
    write_logs, local_events = True, True
    problems: list[Problem] = []
    refused = False
    for number, line in _lines(text or ""):
        if line is None:
            continue  # "Skipping line: too long": neither read nor refused
        words = _words(line)
        if not words or words[0].startswith("#"):
            continue
        name = words[0]
        reason = None
        if len(words) < 3 or words[1] != "=":
            reason = "not of the form 'keyword = value' (auditd splits at spaces only)"
        elif name.lower() not in KEYWORDS:
            reason = f"unknown keyword {name!r}"
        elif len(words) >= 4 and KEYWORDS[name.lower()] == 0:  # more words after the option are only logged
            reason = f"{name} takes no option after its value"
        else:
            key, value = name.lower(), words[2].lower()
            if key in ("write_logs", "local_events"):
                if value not in YES_NO:
                    reason = f"{key} must be yes or no, not {words[2]!r}"
                elif key == "write_logs":
                    write_logs = YES_NO[value]
                else:
                    local_events = YES_NO[value]
            elif key == "log_format":
                if value not in LOG_FORMATS:
                    reason = f"log_format must be one of {', '.join(LOG_FORMATS)}, not {words[2]!r}"
                else:
                    settings[key] = value
                    if value == "nolog":
                        write_logs = False  # "The NOLOG option is overriding the write_logs current setting"
            elif key == "log_file":
                directory = words[2].rpartition("/")[0] if "/" in words[2] else "."
                if len(directory) < 4:  # log_file_parser: "'/var' is shortest dirname"
                    reason = f"log_file directory {directory or '/'!r} is too short (auditd wants at least 4 characters)"
                else:
                    settings[key] = words[2]
            elif key in ACTION_WORDS:
                if value not in ACTION_WORDS[key]:
                    reason = f"{key} must be one of {', '.join(ACTION_WORDS[key])}, not {words[2]!r}"
                elif value == "exec" and (len(words) < 4 or not words[3].startswith("/")):
                    reason = f"{key} = exec needs the absolute path of a program after it"  # check_exe_name()
                else:
                    settings[key] = value
        if reason is not None:
            problems.append(Problem(origin, number, None, f"{reason}: auditd refuses the file and does not start"))
            refused = True
            break  # load_config returns at the first refused line
    actions = {key: settings.get(key, default) for key, default in DEFAULT_ACTIONS.items()}
    config = AuditdConfig(
        origin=origin, exists=text is not None, write_logs=write_logs, local_events=local_events,
        log_format=settings.get("log_format", "enriched"), actions=actions, refused=refused,
        log_file=settings.get("log_file", DEFAULT_LOG_FILE),
    )
    return config, problems


def lossy_actions(config: AuditdConfig) -> dict[str, str]:
    """The actions of ``config`` after which auditd writes no more records while their condition lasts."""
    return {key: value for key, value in config.actions.items() if value in LOSSY_ACTIONS.get(key, ())}


# auditd's getopt string (src/auditd.c): -f, -l, -n take nothing, -s and -c a value
AUDITD_FLAGS = frozenset("fln")
AUDITD_WITH_VALUE = frozenset("sc")
STARTUP_STATES = ("disable", "enable", "nochange")


def auditd_options(command: str) -> dict[str, str] | None:
    """The options auditd started by ``command`` (an ExecStart= value) takes, as its getopt reads
    them (``-s disable``, ``-sdisable``, ``-ns disable``): {"s": ..., "c": ...} for those given, and
    "invalid" mapped to the reason when auditd refuses its arguments (usage(): it does not start).
    None when the command is not auditd's or cannot be read."""
    try:
        argv = shlex.split(command.lstrip("-@:+!"))  # systemd's command prefixes
    except ValueError:
        return None
    return auditd_argv_options(argv)


def auditd_argv_options(argv: list[str]) -> dict[str, str] | None:
    """:func:`auditd_options` of an argument vector (a running auditd's /proc/PID/cmdline)."""
    if not argv or os.path.basename(argv[0]) != "auditd":
        return None
    options: dict[str, str] = {}
    args = iter(argv[1:])
    for arg in args:
        if arg == "--" or not arg.startswith("-") or arg == "-":
            # auditd takes no operand ("if (optind < argc) usage()"); getopt moves them to the end
            if arg != "--" or next(args, None) is not None:
                return {"invalid": f"operand {arg!r}" if arg != "--" else "an operand after --"}
            break
        letters = arg[1:]
        while letters:
            letter, letters = letters[0], letters[1:]
            if letter in AUDITD_FLAGS:
                continue
            if letter not in AUDITD_WITH_VALUE:
                return {"invalid": f"unknown option -{letter}"}
            value = letters or next(args, None)
            letters = ""
            if value is None:
                return {"invalid": f"-{letter} without its value"}
            if letter == "s" and value not in STARTUP_STATES:
                return {"invalid": f"-s {value} (disable, enable or nochange expected)"}
            options[letter] = value
    return options


def auditd_startup(command: str) -> str | None:
    """What auditd started by ``command`` (an ExecStart= value) does with the kernel's enabled
    flag when it starts (its ``-s``): "enable" (the default), "disable" or "nochange"; "invalid"
    when auditd refuses its arguments (usage(), it does not start); None when the command is not
    auditd's or cannot be read.  auditd then calls audit_set_enabled() unless -s nochange or the
    flag is 2 (locked), before the rules that ExecStartPost= loads."""
    options = auditd_options(command)
    if options is None:
        return None
    return "invalid" if "invalid" in options else options.get("s", "enable")
