"""The configuration file and environment: defaults for command-line options.

Precedence, highest first: the command-line option, its environment variable, the configuration
file, the option's own default.  The file is ``$LBAUDIT_CONFIG`` when that is set (set it empty
for no file at all), else ``/etc/lbaudit/config.yaml`` overlaid key by key with
``$XDG_CONFIG_HOME/lbaudit/config.yaml`` (``~/.config/lbaudit/config.yaml``).  A file another user
could change (:func:`auditor.safeio.replaceable_by_others`) is refused, never read.

One table, :data:`SETTINGS`, maps each configuration key to its environment variable and to the
command-line option it fills.  No command has per-option code for it: the ``lbaudit`` group gives
every option named in the table its environment variable (click's ``envvar``) and fills click's
``Context.default_map`` of the command being run from the file, so an option another part of
lbaudit adds later (``--store``, ``--org-name``, ``--color``) picks both up as soon as its flag is
in the table.  A key of the file that no command of this run uses is still checked.

This module imports only the standard library until a configuration file exists: ``lbaudit
--help`` pays nothing for it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from auditor.errors import InputError, Problem
from auditor.model.records import record

SYSTEM_CONFIG = Path("/etc/lbaudit/config.yaml")
CONFIG_ENV = "LBAUDIT_CONFIG"
MAX_CONFIG_BYTES = 64 * 1024


@record
class Setting:
    key: str  # in the configuration file
    env: str  # environment variable
    # the command-line option it fills, on every command that has that option; None for a setting
    # with no option, read where it is used (store_timeout: every exchange with a PostgreSQL store)
    option: str | None
    # "path" (relative to the file's directory), "path or URL" (a SQLAlchemy URL kept as written, else a
    # path), "text", "integer", "seconds", "duration" or "one of a|b|c"
    kind: str
    meaning: str
    # an "integer" or "seconds" setting: the lowest and highest value it takes, as its option does
    # (one pair for both: expiry_warning_days: 99999 in the file was refused by --expiry-warning-days,
    # naming the option and its variable, neither of which was set, and not the file's line)
    bounds: tuple[int, int] | None = None


# --expiry-warning-days and expiry_warning_days: ten years of days
EXPIRY_WARNING_DAYS_RANGE = (0, 3650)
# libpq's shortest connect_timeout is 2 s; a day is longer than any one query of a sane store takes
STORE_TIMEOUT_RANGE = (2, 86400)


SETTINGS: tuple[Setting, ...] = (
    Setting("policy", "LBAUDIT_POLICY", "--policy", "path", "Policy file (evaluate, coverage)."),
    Setting("waivers", "LBAUDIT_WAIVERS", "--waivers", "path", "Separate waivers file (evaluate, fleet evaluate, validate, coverage)."),
    Setting("store", "LBAUDIT_STORE", "--store", "path or URL",
            "History store: a file path or a SQLAlchemy URL (postgresql://..., sqlite:///PATH)."),
    Setting("sign_key", "LBAUDIT_SIGN_KEY", "--sign-key", "path", "Ed25519 private key that signs evidence."),
    Setting("out_dir", "LBAUDIT_OUT_DIR", "--out-dir", "path", "Directory for reports (evaluate, report)."),
    Setting("org_name", "LBAUDIT_ORG_NAME", "--org-name", "text", "Organisation named in reports."),
    Setting("org_logo", "LBAUDIT_ORG_LOGO", "--org-logo", "path", "Organisation logo for reports."),
    Setting("assessor", "LBAUDIT_ASSESSOR", "--assessor", "text", "Assessor named in attestations."),
    Setting("color", "LBAUDIT_COLOR", "--color", "one of auto|always|never", "Colour in terminal output."),
    Setting("expiry_warning_days", "LBAUDIT_EXPIRY_WARNING_DAYS", "--expiry-warning-days", "integer",
            "Warn about waivers that expire within this many days.", EXPIRY_WARNING_DAYS_RANGE),
    Setting("max_age", "LBAUDIT_MAX_AGE", "--max-age", "duration",
            "Oldest snapshot judged (evaluate --snapshot, fleet evaluate): 36h, 7d, ... or none."),
    Setting("store_timeout", "LBAUDIT_STORE_TIMEOUT", None, "seconds",
            "Seconds a PostgreSQL history store has to connect and to answer each query, commit or "
            "rollback (default 30); past it the command gives up on the store (exit 2).", STORE_TIMEOUT_RANGE),
)
BY_KEY = {s.key: s for s in SETTINGS}
BY_OPTION = {s.option: s for s in SETTINGS if s.option is not None}
STORE_TIMEOUT_ENV = BY_KEY["store_timeout"].env
DEFAULT_STORE_TIMEOUT = 30  # seconds: well past the 10 s a store's lock is waited for


@record
class Value:
    value: Any
    source: str  # "/etc/lbaudit/config.yaml:3"


def config_files() -> list[Path]:
    """The configuration files this run reads, lowest precedence first (missing ones included)."""
    named = os.environ.get(CONFIG_ENV)
    if named is not None:
        return [Path(named)] if named else []
    home = user_directory("XDG_CONFIG_HOME", ".config")
    return [SYSTEM_CONFIG] + ([home / "lbaudit" / "config.yaml"] if home is not None else [])


def user_directory(variable: str, under_home: str, environ: Any = None) -> Path | None:
    """The XDG base directory ``$VARIABLE`` when it is absolute (the XDG spec: a relative value is
    invalid and ignored), else ``UNDER_HOME`` in the home directory (``$HOME`` when absolute, else the
    password database's); None when there is no home to be found (``HOME`` unset, a container's
    numeric uid with no passwd entry).  Never a path relative to the working directory: there
    ``os.path.expanduser("~")`` stays ``~`` and whoever can write to the working directory would
    choose the configuration file, and ``Path.home()`` raises RuntimeError (exit 70)."""
    environ = os.environ if environ is None else environ
    value = environ.get(variable) or ""
    if os.path.isabs(value):
        return Path(value)
    home = environ.get("HOME") or ""
    if not os.path.isabs(home):
        try:
            import pwd

            home = pwd.getpwuid(os.geteuid()).pw_dir
        except (ImportError, KeyError):  # no password database (Windows), or no entry for this uid
            home = ""
    return Path(home) / under_home if os.path.isabs(home) else None


def is_url(location: str) -> bool:
    """Whether a store location is a SQLAlchemy URL rather than a file path (here, not in the history
    package: the configuration is read below the command line, where nothing imports the store)."""
    return "://" in location


def hidden_password(location: str) -> str:
    """A store location as lbaudit shows it: a URL's password, ``user:PASSWORD@`` (as SQLAlchemy's
    ``render_as_string`` hides it) and libpq's ``password=`` and ``sslpassword=`` parameters, as ``***``; a path as it is.
    ``config show`` printed ``postgresql://scan:PASSWORD@db/lbaudit`` whole, the command whose output
    is pasted into a ticket or a CI log."""
    if not is_url(location):
        return location
    import re  # only for a URL

    hidden = re.sub(r"(://[^/@:?#]*:)[^/@]*@", r"\1***@", location, count=1)
    return re.sub(r"([?&](?:ssl)?password=)[^&#]*", r"\1***", hidden, flags=re.IGNORECASE)


def _check(setting: Setting, value: Any, base: Path) -> tuple[Any, str | None]:
    """The value as the option takes it, or the problem with it."""
    from auditor.policy.yamlsafe import found_text  # read with the file: load_file has imported it
    if setting.kind in ("path", "path or URL", "text"):
        if not isinstance(value, str) or not value.strip():
            wanted = {"path": "a path", "path or URL": "a path or a SQLAlchemy URL"}.get(setting.kind, "text")
            return None, f"{setting.key}: expected {wanted}; found {found_text(value)}"
        if setting.kind == "path or URL":
            if is_url(value):
                # As --store and LBAUDIT_STORE take it.  Joined to the file's directory as a path,
                # store: postgresql://host/db was /etc/lbaudit/postgresql:/host/db, a SQLite file
                # that --record created there, and no run reached the central store.  A SQLite URL's
                # relative file is the file's directory's, as a relative path in the file is (the
                # working directory of a scheduled scan is /).
                import re  # only for a URL in a file: `lbaudit --help` reads none

                relative = re.fullmatch(_RELATIVE_SQLITE_URL, value, re.DOTALL)
                if relative is not None and not relative.group("file").startswith(":memory:"):
                    return f"{relative.group('scheme')}:///{base / relative.group('file')}", None
                return value, None
        if setting.kind in ("path", "path or URL"):
            return _checked_path(setting, value, base)
        if _more_than_one_line(value):
            return None, f"{setting.key}: expected one line of plain text; found {found_text(value)}"
        return value, None
    if setting.kind == "duration":
        from auditor.durations import parse_duration

        try:
            parse_duration(value if isinstance(value, str) else "")
        except ValueError as exc:
            return None, f"{setting.key}: {exc}" if isinstance(value, str) else \
                f"{setting.key}: expected a duration (36h, 7d, ... or none); found {found_text(value)}"
        return value, None
    if setting.kind in ("integer", "seconds"):
        low, high = setting.bounds or (-2**63, 2**63 - 1)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            what = "a whole number of seconds" if setting.kind == "seconds" else "an integer"
            return None, f"{setting.key}: expected {what} from {low} to {high}; found {found_text(value)}"
        return value, None
    choices = setting.kind.removeprefix("one of ").split("|")
    if value not in choices:
        return None, f"{setting.key}: expected one of {', '.join(choices)}; found {found_text(value)}"
    return value, None


def _checked_path(setting: Setting, value: str, base: Path) -> tuple[Any, str | None]:
    """A path of the file joined to the file's directory, or the problem with it: checked as its
    option checks a path (:func:`auditor.safeio.path_problem`) but here, at the file's line.  The
    option's type checked it only after the file's check had taken it: a name of 300 bytes was
    refused as "Invalid value for '--policy' (env var: 'LBAUDIT_POLICY')", an option and a variable
    neither of which was set, and not the file or its line; a key that no command of the run uses
    was not checked at all."""
    from auditor.safeio import path_problem

    path = Path(os.path.expanduser(value))
    joined = path if path.is_absolute() else base / path
    problem = path_problem(str(joined))
    if problem is not None:
        from auditor.policy.yamlsafe import found_text

        return None, f"{setting.key}: {found_text(value)} {problem}"
    return str(joined), None


def _more_than_one_line(text: str) -> bool:
    """Whether a "text" setting holds a line break or a bidi override, which its option refuses
    (auditor.cli._one_line_option: a name printed beside the verdict must not print a line of its
    own, "Verdict: COMPLIANT").  The file's org_name: "ACME\\nVerdict: COMPLIANT" passed the file's
    check and was refused as "'--org-name' (env var: 'LBAUDIT_ORG_NAME')", neither of which was set."""
    from auditor.model.base import LINE_BREAK_OR_BIDI

    return LINE_BREAK_OR_BIDI.search(text) is not None


# sqlite:///history.db (and sqlite+pysqlite:///...): three slashes and a path that does not start
# with a fourth are a file relative to the working directory (SQLAlchemy's URL form).
_RELATIVE_SQLITE_URL = r"(?P<scheme>sqlite(?:\+\w+)?):///(?P<file>[^/].*)"


def load_file(path: Path, named_by: str | None = None) -> dict[str, Value]:
    """One configuration file (a mapping of the keys of :data:`SETTINGS`); every problem is an
    InputError (exit 2) listing file:line of each.  ``named_by``: the text of $LBAUDIT_CONFIG that
    named it, read as it was set (pathlib drops a last '/': ``conf.yaml/`` read conf.yaml) and
    named when the file cannot be read: ``LBAUDIT_CONFIG=' '`` was "lbaudit:  : cannot read the
    configuration file: No such file or directory", no word of the variable."""
    # here, as the YAML reader: importing auditor.config (every command, --help too) imports no more
    from auditor.policy.yamlsafe import DocumentKind, YamlProblem, decode_utf8, load_located
    from auditor.safeio import read_regular, replaceable_by_others
    from auditor.spelling import closest
    from auditor.text import quoted_name

    try:
        raw = read_regular(path if named_by is None else named_by, MAX_CONFIG_BYTES, document=True)
        distrust = replaceable_by_others(path)
    except OSError as exc:
        hint = "" if named_by is None else (f" (named by {CONFIG_ENV}={quoted_name(named_by)}: name another file, or "
                                            f"set {CONFIG_ENV}= empty to read none)")
        raise InputError(f"{path}: cannot read the configuration file: {exc.strerror or exc}{hint}") from exc
    if distrust:
        raise InputError(f"{path}: not trusted as the configuration file: {distrust}; or name another file with "
                         f"{CONFIG_ENV}=PATH, or set {CONFIG_ENV}= empty to read none")
    try:
        text = decode_utf8(raw)
    except YamlProblem as exc:
        raise InputError(f"{path}: the configuration file is not valid UTF-8",
                         [Problem(str(path), exc.line, exc.column, exc.message)]) from exc
    # Another file given as the configuration (a .env, /etc/shadow) is refused without quoting it.
    kind = DocumentKind("an lbaudit configuration file", tuple(BY_KEY), f"a mapping of {', '.join(BY_KEY)}")
    try:
        doc = load_located(text, kind)
    except YamlProblem as exc:
        raise InputError(f"{path}: invalid configuration file", [Problem(str(path), exc.line, exc.column, exc.message)]) from exc
    values: dict[str, Value] = {}
    problems = []
    for key, value in doc.value.items():
        line, column = doc.position((key,))
        setting = BY_KEY.get(key)
        if setting is None:
            near = closest(key, BY_KEY)
            hint = f"; did you mean {near!r}?" if near is not None else f" (expected one of: {', '.join(BY_KEY)})"
            problems.append(Problem(str(path), line, column, f"unknown key {quoted_name(key)}{hint}"))
            continue
        checked, problem = _check(setting, value, path.parent)
        if problem:
            problems.append(Problem(str(path), line, column, problem))
        else:
            values[key] = Value(checked, f"{path}:{line}")
    if problems:
        raise InputError(f"{path}: invalid configuration file", problems)
    return values


def present(path: Path) -> bool:
    """Whether a default configuration file is there to read: absent is fine, any other failure to
    look (a name too long, a directory the user may not search, a link loop) is an InputError
    naming it, never a traceback or a file silently skipped."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError) as exc:
        link = _dangling_link(path)
        if link is None:
            return False
        # A link whose file (or directory: ~/.config/lbaudit -> a moved one) was moved or deleted: the
        # settings meant (a signing key, a store, a maximum age) were dropped without a word and the
        # command ran on its defaults.
        from auditor.text import quoted_name  # only for a link that leads nowhere

        which = "it" if link == path else str(link)
        raise InputError(f"{path}: cannot read the configuration file: {which} is a symbolic link to "
                         f"{quoted_name(os.readlink(link))}, which leads nowhere ({exc.strerror or exc}; restore "
                         f"its file, remove the link, or name the file with {CONFIG_ENV}=PATH, or set "
                         f"{CONFIG_ENV}= empty to read none)") from exc
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        # Typically sudo -u / setpriv keeping another user's HOME: say how to choose the file.
        raise InputError(f"{path}: cannot read the configuration file: {reason} (name the file with "
                         f"{CONFIG_ENV}=PATH, or set {CONFIG_ENV}= empty to read none)") from exc
    return True


def _dangling_link(path: Path) -> Path | None:
    """The symbolic link through which ``path`` (which ``os.stat`` found missing) leads nowhere: the
    path itself or a directory above it, the deepest of them that is there; None when that one is no
    link (the file is simply absent)."""
    for candidate in (path, *path.parents):
        try:
            if os.path.lexists(candidate):  # the deepest part there: a link that leads nowhere, or absent below it
                return candidate if os.path.islink(candidate) and not os.path.exists(candidate) else None
        except (OSError, ValueError):
            return None
    return None


def file_values() -> dict[str, Value]:
    """The values of every configuration file that exists, a later file winning per key (the file
    named by $LBAUDIT_CONFIG must exist)."""
    named = os.environ.get(CONFIG_ENV) or None
    values: dict[str, Value] = {}
    for path in config_files():
        if named is not None or present(path):
            values.update(load_file(path, named))
    return values


def setting_of(param: Any) -> Setting | None:
    """The setting that fills the click parameter ``param``, or None.  An option is filled by the
    setting of its flag only when it takes what the setting is: a "path" setting fills an option
    that takes a path (a ``click.Path``).  ``--policy`` is a policy file on evaluate, coverage, fleet
    evaluate and schedule install but a policy id on the history commands and fleet report, where
    LBAUDIT_POLICY=/etc/lbaudit/corp.yaml filtered on an id no run has: ``history head`` printed no
    head at all (exit 0) and ``history diff`` found no run."""
    import click  # every caller has imported it: it holds click commands

    for option in getattr(param, "opts", []):
        setting = BY_OPTION.get(option)
        if setting is not None and (setting.kind != "path" or isinstance(param.type, click.Path)):
            return setting
    return None


def default_map_for(command: Any, values: dict[str, Value]) -> dict[str, Any]:
    """click's ``default_map`` for ``command``: each of its options named in the table, from the file,
    and for a group each subcommand's, under its name (click hands a subcommand the entry of its
    name).  Without those, the file reached no command of a group: ``store:`` was not the store of
    ``history verify`` or ``fleet evaluate --record`` (the default store was used), nor ``sign_key:``
    the key of ``fleet evaluate`` (each host's evidence written unsigned)."""
    defaults: dict[str, Any] = {}
    for param in getattr(command, "params", []):
        setting = setting_of(param)
        if setting is not None and setting.key in values:
            defaults[param.name] = values[setting.key].value
    for name, sub in getattr(command, "commands", {}).items():
        below = default_map_for(sub, values)
        if below:
            defaults[name] = below
    return defaults


def attach_envvars(command: Any) -> None:
    """Give each option of ``command`` (and of its subcommands) named in the table its variable."""
    for sub in getattr(command, "commands", {}).values():
        attach_envvars(sub)
    for param in getattr(command, "params", []):
        setting = setting_of(param)
        if setting is not None:
            if param.envvar is None:
                param.envvar = setting.env
                if hasattr(param, "show_envvar"):
                    param.show_envvar = True


def environment_value(setting: Setting) -> Any:
    """The value of ``setting``'s environment variable as a command takes it (None: not set), or an
    InputError (exit 2) naming the variable for one every command with its option refuses.  click
    gives an option its variable when that is not empty and converts it as it converts the option
    (``int()`` for a number); ``store_timeout``, read by :func:`store_timeout`, is set only when not
    blank.  ``config show`` printed the text as it was: a blank LBAUDIT_STORE_TIMEOUT as the
    effective value where the file's applied, LBAUDIT_COLOR=purple where every command refuses it."""
    text = os.environ.get(setting.env)
    if setting.key == "store_timeout":
        return store_timeout() if text and text.strip() else None
    if not text:
        return None
    shown = f"{setting.env}={text[:40]!r}"
    if setting.kind == "integer":
        low, high = setting.bounds or (-2**63, 2**63 - 1)
        try:
            number = int(text)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise InputError(f"{shown}: expected an integer from {low} to {high}")
        return number
    if setting.kind == "duration":
        from auditor.durations import parse_duration

        try:
            parse_duration(text)
        except ValueError as exc:
            raise InputError(f"{shown}: {str(exc).removeprefix(repr(text[:80]) + ': ')}") from None
        return text
    if setting.kind.startswith("one of "):
        choices = setting.kind.removeprefix("one of ").split("|")
        if text not in choices:
            raise InputError(f"{shown}: expected one of {', '.join(choices)}")
    else:
        # As the option's type checks a path or a text (auditor.cli._GuardedValue): a name past the
        # kernel's limits or a byte that is no UTF-8 character was shown as the effective value.
        from auditor.safeio import path_problem, text_problem

        as_path = setting.kind == "path" or (setting.kind == "path or URL" and not is_url(text))
        problem = path_problem(text) if as_path else text_problem(text)
        if as_path and not text.strip():
            # as auditor.cli._GuardedValue refuses it for every path option (and store_location the store)
            problem = "is blank: a path of white space alone names no file meant"
        elif as_path and text == "-":  # only -o/--output takes -, and no setting fills it
            problem = "only -o/--output takes - (standard output): no other path reads or writes a standard stream"
        if problem is None and setting.kind == "text" and _more_than_one_line(text):
            problem = "expected one line of plain text (it holds a line break or a bidi override)"
        if problem is not None:
            shown = f"{setting.env}={text[:40].encode('utf-8', 'backslashreplace').decode('utf-8')!r}"
            raise InputError(f"{shown}: {problem}")
    return text


def effective() -> list[tuple[Setting, Any, str]]:
    """Every setting with the value a command gets when no option is given, and where it came from."""
    values = file_values()
    rows: list[tuple[Setting, Any, str]] = []
    for setting in SETTINGS:
        env = environment_value(setting)
        if env is not None:
            rows.append((setting, env, f"environment {setting.env}"))
        elif setting.key in values:
            rows.append((setting, values[setting.key].value, values[setting.key].source))
        else:
            rows.append((setting, None, "default"))
    return rows


def store_timeout() -> int:
    """``LBAUDIT_STORE_TIMEOUT``, else the configuration file's ``store_timeout``, else 30: the
    seconds a PostgreSQL history store has to connect and to answer each exchange
    (:mod:`auditor.history.deadline`).  A value that is not a whole number of seconds from 2 to a
    day is an InputError (exit 2) naming the variable."""
    text = os.environ.get(STORE_TIMEOUT_ENV, "").strip()
    if text:
        from auditor.text import ascii_decimal  # here: `lbaudit --help` imports this module, not auditor.text

        low, high = STORE_TIMEOUT_RANGE
        seconds = ascii_decimal(text)  # not int(): 5,000 digits were its ValueError, exit 70
        if seconds is None or not low <= seconds <= high:
            raise InputError(f"{STORE_TIMEOUT_ENV}={text[:40]!r}: expected a whole number of seconds from {low} to "
                             f"{high} (how long a PostgreSQL history store has to answer)")
        return seconds
    value = file_values().get("store_timeout")
    return DEFAULT_STORE_TIMEOUT if value is None else int(value.value)
