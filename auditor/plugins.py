"""The one decision whether installed packages may add checks and reporters through entry points.

Every place that loads an ``lbaudit.*`` entry point asks :func:`plugins_enabled`, so ``--no-plugins``
and ``LBAUDIT_DISABLE_PLUGIN_AUTOLOAD`` mean the same for every command (as pytest's
``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` does): no installed package can change a run unasked.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Callable, Iterator

from auditor.errors import RegistryError, Terminated
from auditor.model.records import record

AUTOLOAD_ENV = "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD"
# Values that leave autoload on; anything else (1, true, yes, ...) switches it off.
_AUTOLOAD_ON = ("", "0", "false", "no", "off")


def plugins_enabled(no_plugins: bool = False) -> bool:
    """False under ``--no-plugins`` or when LBAUDIT_DISABLE_PLUGIN_AUTOLOAD is set to anything but 0/false/no/off."""
    if no_plugins:
        return False
    return os.environ.get(AUTOLOAD_ENV, "").strip().lower() in _AUTOLOAD_ON


# pydantic's own plugins (the ``pydantic`` entry-point group: validation observers such as logfire's)
# are installed packages too.  pydantic looks them up when it builds a model's validator, the first
# time by importing importlib.metadata and reading every installed distribution's entry points
# (68 M instructions of `lbaudit evaluate`, 88 M of `validate`: issue 16), and reads this documented
# variable on every lookup ("__all__": none; pydantic/plugin/_loader.py get_plugins).
PYDANTIC_PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"


# pydantic's plugin lookup: pydantic/plugin/_schema_validator.py runs ``from ._loader import
# get_plugins`` for each validator it builds, and importing that module imports importlib.metadata
# (and email, zipfile, csv: about 7 ms, 57 M instructions), even when the variable above says that no
# plugin is to be loaded and get_plugins returns () without reading anything.
_PYDANTIC_PLUGIN_LOADER = "pydantic.plugin._loader"
# The values for which pydantic's get_plugins returns () (pydantic/plugin/_loader.py); any other value
# (a list of plugin names to leave out) needs the real scan.
_PYDANTIC_PLUGINS_ALL_OFF = ("__all__", "1", "true")


def _real_plugin_loader() -> ModuleType:
    """pydantic's own plugin loader, imported in place of the stand-in (from then on pydantic uses it)."""
    if sys.modules.get(_PYDANTIC_PLUGIN_LOADER) is _PLUGIN_LOADER_STAND_IN:
        del sys.modules[_PYDANTIC_PLUGIN_LOADER]
    return importlib.import_module(_PYDANTIC_PLUGIN_LOADER)


def _stand_in_get_plugins() -> Any:
    """pydantic's ``get_plugins`` as the real one answers when plugins are switched off (no plugins,
    nothing read), and the real one's answer otherwise."""
    if os.getenv(PYDANTIC_PLUGINS_ENV) in _PYDANTIC_PLUGINS_ALL_OFF:
        return ()
    return _real_plugin_loader().get_plugins()


def _stand_in_getattr(name: str) -> Any:
    """Any other name of the loader module is the real module's.  Dunder names are not: the import
    system asks a module in sys.modules for ``__path__`` (is it a package?), which must not import it."""
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    return getattr(_real_plugin_loader(), name)


# Stands in for pydantic.plugin._loader while lbaudit has switched pydantic's plugins off, so building a
# validator does not import importlib.metadata only to return no plugins.  It answers exactly as the
# real module would: get_plugins() is () for the values that switch every plugin off, and anything else
# (another value, another name, a future pydantic that asks the module something else) imports the real
# module and asks it.  tests/test_pydantic_plugins.py holds pydantic to this shape.
_PLUGIN_LOADER_STAND_IN = ModuleType(_PYDANTIC_PLUGIN_LOADER, "lbaudit's stand-in for pydantic's plugin loader")
_PLUGIN_LOADER_STAND_IN.get_plugins = _stand_in_get_plugins  # type: ignore[attr-defined]
_PLUGIN_LOADER_STAND_IN.__getattr__ = _stand_in_getattr  # type: ignore[attr-defined]


@contextmanager
def without_pydantic_plugins() -> Iterator[None]:
    """lbaudit's models validated with no pydantic plugin, for the length of one command.

    As with lbaudit's own plugins, no installed package changes (or observes) a run unasked, and no
    command pays for the scan.  The variable is set for the command only and then put back exactly
    as it was (unset, or the user's value), so a program calling :func:`auditor.cli.run` keeps its
    environment; the programs lbaudit runs get a fixed minimal environment (auditor/collect/programs.py)
    and never see it.  pydantic reads it at each lookup, not once, so it must stay set while models
    may be built (``defer_build``: on first use, anywhere in the command)."""
    before = os.environ.get(PYDANTIC_PLUGINS_ENV)
    os.environ[PYDANTIC_PLUGINS_ENV] = "__all__"
    stand_in = sys.modules.setdefault(_PYDANTIC_PLUGIN_LOADER, _PLUGIN_LOADER_STAND_IN) is _PLUGIN_LOADER_STAND_IN
    try:
        yield
    finally:
        if stand_in and sys.modules.get(_PYDANTIC_PLUGIN_LOADER) is _PLUGIN_LOADER_STAND_IN:
            del sys.modules[_PYDANTIC_PLUGIN_LOADER]
        if before is None:
            os.environ.pop(PYDANTIC_PLUGINS_ENV, None)
        else:
            os.environ[PYDANTIC_PLUGINS_ENV] = before


@record
class LoadedEntryPoint:
    """One ``lbaudit.*`` entry point, loaded, with the distribution that brought it."""

    name: str
    value: str  # "module:attribute" as the distribution declared it
    origin: str  # "plugin <distribution> <version>", recorded wherever the plugin's work is
    loaded: object
    distribution: str = "?"  # the distribution's name ("?" for an entry point without one)
    version: str = "?"


def stops_the_run(exc: BaseException) -> bool:
    """Whether ``exc``, raised where a plugin's code runs, is the user's stop (Ctrl-C, SIGTERM,
    SIGHUP), which ends the command there as anywhere else.  Everything else a plugin raises is that
    plugin's failure, the other BaseException subclasses too: a check that raised GeneratorExit or a
    bare BaseException (or an exception whose ``__str__`` did) ended ``evaluate`` with a traceback,
    exit 1 (the code of non-compliance) and no evidence.  Each handler of a plugin's code catches
    BaseException and raises again what this says is a stop.

    A KeyboardInterrupt or Terminated is a stop when a signal was delivered in this command
    (lbaudit's handlers record each, command_files.DELIVERED: one a plugin caught and raised anew
    still stops the run), or, for KeyboardInterrupt, when Python's own SIGINT handler is in place
    (a library caller's process: a Ctrl-C cannot be told from a raise there).  Under lbaudit's
    handlers one raised by a plugin's own code is its failure: it ended ``evaluate``, or a whole
    fleet run, as "interrupted" (exit 130, nothing written) every time, blaming the user."""
    if not isinstance(exc, (KeyboardInterrupt, Terminated)):
        return False
    from auditor.command_files import DELIVERED

    if DELIVERED:
        return True
    return isinstance(exc, KeyboardInterrupt) and signal.getsignal(signal.SIGINT) is signal.default_int_handler


# The reporters' group (auditor.report loads it): named here so that a run can ask whether any
# distribution declares one without importing the reporters' package.
REPORTERS_GROUP = "lbaudit.reporters"


def declares_entry_points(group: str) -> bool:
    """Whether any installed distribution declares an entry point of ``group`` (none loaded): the
    same declarations :func:`load_entry_points` loads, read once for all."""
    return bool(_declared(group))


def load_entry_points(group: str) -> list[LoadedEntryPoint]:
    """Every entry point of ``group``, in name order, loaded.

    The one loader for checks and reporters alike: a plugin that fails to import is a loud
    :class:`RegistryError` (exit 2) naming the entry point, never a traceback and never a silently
    smaller registry.  Callers ask :func:`plugins_enabled` first.
    """
    found: list[LoadedEntryPoint] = []
    for ep in _declared(group):
        dist = ep.dist
        # The distribution's name and version as it declares them (its METADATA), which the
        # evidence records as each of its checks' origin and every report shows: plain text.
        distribution, version = (plugin_text(dist.name), plugin_text(dist.version)) if dist else ("?", "?")
        origin = f"plugin {distribution if dist else plugin_text(ep.value)} {version}"
        from auditor import time_limit

        try:
            # its import's code runs in lbaudit's process as a check's does, and is bounded as one is:
            # a module that looped at import held every command that loads plugins forever
            with plugin_code(), time_limit.time_limit(time_limit.PLUGIN_LOAD_SECONDS, time_limit.LoadTimedOut) as limit:
                loaded = ep.load()
        except time_limit.LoadTimedOut as exc:
            raise RegistryError(f"{entry_point_named(ep.name, ep.value, origin)} did not finish loading: {exc}") from None
        except BaseException as exc:  # a broken plugin is a loud error, not a silently smaller registry
            if stops_the_run(exc):
                raise
            raise RegistryError(f"{entry_point_named(ep.name, ep.value, origin)} failed to load: "
                                f"{raised_text(exc)}") from exc
        if limit.reached:  # it swallowed the stop (a bare except) and its import went on to the end
            raise RegistryError(f"{entry_point_named(ep.name, ep.value, origin)} did not finish loading: "
                                f"{time_limit.LoadTimedOut(time_limit.PLUGIN_LOAD_SECONDS)}")
        found.append(LoadedEntryPoint(ep.name, ep.value, origin, loaded, distribution, version))
    return found


def entry_point_named(name: str, value: str, origin: str) -> str:
    """An entry point as lbaudit's messages name it: its name, what it points at, its distribution."""
    return f"plugin entry point {name!r} ({plugin_text(value)}) of {origin}"


# The most of a plugin's text (what it raised, its distribution's name) a message quotes.
MAX_QUOTED_CHARACTERS = 1000


def plugin_text(text: object) -> str:
    """Text of a plugin's (its distribution's name or version, what it raised) as lbaudit's messages
    and the evidence quote it: one line, every control and bidi character (and a lone surrogate) as
    its escape (``\\x1b``, ``\\u202e``), at most MAX_QUOTED_CHARACTERS."""
    from auditor.text import cut_text, one_line

    return cut_text(one_line(str(text).encode("utf-8", "backslashreplace").decode("utf-8")), MAX_QUOTED_CHARACTERS)


def raised_text(exc: BaseException, shown: Callable[[str], str] = plugin_text) -> str:
    """``shown`` (by default :func:`plugin_text`) of the text of what a plugin raised, or why there
    is none: an exception whose ``__str__`` raised ended the run from the handler that quoted it
    (exit 70)."""
    try:
        return shown(str(exc))
    except BaseException as failure:  # a plugin's exception is not trusted to have text
        if stops_the_run(failure):
            raise
        try:
            why = f"{type(failure).__name__}: {shown(str(failure))}"
        except BaseException as again:
            if stops_the_run(again):
                raise
            why = type(failure).__name__
        return f"(its text could not be made: {why})"


# The scan of every installed distribution's entry_points.txt (~15 ms) is the same answer while no
# directory on sys.path changes, and a run asks for it several times (checks, reporters, the
# evidence's plugin records).  Keyed as importlib.metadata keys its own cache of a path entry: each
# sys.path entry with its mtime, so a distribution installed (or removed) since is seen on the next
# call.  Only the declarations are kept; loading (the import) happens on every call, as before.
_PathState = tuple[tuple[str, "int | None"], ...]
_scanned: dict[_PathState, dict[str, list[Any]]] = {}
# The text of every entry_points.txt that importlib.metadata could read on one state of sys.path, or
# None when this module cannot tell which it would read (see _declarations); one state at a time.
_declarations_seen: dict[_PathState, "list[str] | None"] = {}
# What importlib.metadata's PathDistribution.read_text takes for "no such file" (it returns None
# then); any other failure it lets through, so _declarations leaves such a file to it.
_NO_FILE = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def _path_state() -> _PathState:
    state = []
    for entry in sys.path:
        directory = entry or os.getcwd()  # "" is the working directory
        try:
            mtime: int | None = os.stat(directory).st_mtime_ns
        except (OSError, TypeError, ValueError):
            mtime = None
        state.append((directory, mtime))
    return tuple(state)


def _declared(group: str) -> list[Any]:
    """The entry points of ``group`` that installed distributions declare, in name order."""
    state = _path_state()
    if state not in _scanned:
        _scanned.clear()  # one state of sys.path at a time: a changed one is not asked again
        _scanned[state] = {}
    groups = _scanned[state]
    if group not in groups:
        if state not in _declarations_seen:
            _declarations_seen.clear()
            _declarations_seen[state] = _declarations()
        texts = _declarations_seen[state]
        if texts is not None and not any(group in text for text in texts):
            # No distribution importlib.metadata could read declares a section named ``group``
            # (its name is in the text of any that does), so its answer is no entry point, and
            # importing it (7 ms, 57 M instructions: email, zipfile, csv) and its scan are skipped.
            groups[group] = []
        else:
            from importlib import metadata  # only when a plugin may be declared: ~10 ms to import

            groups[group] = sorted(metadata.entry_points(group=group), key=lambda e: e.name)
    return groups[group]


def _declarations() -> list[str] | None:
    """The text of every entry_points.txt of every distribution that ``importlib.metadata`` could
    read entry points from on ``sys.path``, or None when it may read others or fail (then only
    importlib.metadata itself can answer).

    A superset of what ``importlib.metadata.entry_points()`` reads (Python 3.11's MetadataPathFinder:
    every ``*.dist-info``/``*.egg-info`` child of each ``sys.path`` directory, matched
    case-insensitively, and an ``*.egg`` directory's ``EGG-INFO``); it reads only the first
    distribution of each name, which can only make its answer smaller, so "no text names the group"
    is its answer exactly.  None (importlib.metadata asked) when it may read elsewhere or fail: a
    finder on sys.meta_path other than the path finder that finds distributions, a sys.path entry
    that is not a string, or a file (a zip, read through zipfile), an entry_points.txt it would fail
    to read or decode (it raises; so does lbaudit then, as before)."""
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if finder is not PathFinder and getattr(finder, "find_distributions", None) is not None:
            return None
    texts: list[str] = []
    for root in sys.path:
        if not isinstance(root, str):
            return None
        try:
            children = os.listdir(root or ".")
        except Exception:
            if os.path.exists(root or ".") and not os.path.isdir(root or "."):
                return None  # a zip file (or something zipfile might open): importlib.metadata's case
            continue  # no directory (or an unreadable one): importlib.metadata finds nothing there either
        root_is_egg = os.path.basename(root).lower().endswith(".egg")
        for child in children:
            low = child.lower()
            if not (low.endswith((".dist-info", ".egg-info")) or (root_is_egg and low == "egg-info")):
                continue
            try:
                with open(os.path.join(root, child, "entry_points.txt"), "rb") as declared:
                    texts.append(declared.read().decode("utf-8"))
            except _NO_FILE:
                continue
            except Exception:
                return None
    return texts


# What of the process a plugin's code may not change, and lbaudit's own time limit relies on: the
# handlers of signals and the interval timer (auditor/time_limit.py sets them through the
# functions it took at import, not these names).
_SIGNAL_SETTERS = ("signal", "setitimer", "alarm", "pthread_sigmask", "siginterrupt", "set_wakeup_fd")


def _refused_signal_change(name: str, setter: Callable[..., Any]) -> Callable[..., Any]:
    """``signal.<name>`` while a plugin's code runs: refused to the plugin, and lbaudit's own (its
    handler of SIGTERM, run wherever the signal lands, sets the stopping signals aside: refused, the
    user's stop was the plugin's PermissionError and the run went on)."""
    def refused(*args: object, **kwargs: object) -> Any:
        if str(sys._getframe(1).f_globals.get("__name__", "")).startswith("auditor."):
            return setter(*args, **kwargs)
        raise PermissionError(f"a plugin may not change lbaudit's signal handling (signal.{name}): its time "
                              "limit and the user's Ctrl-C depend on it")
    return refused


@contextmanager
def plugin_code() -> Iterator[None]:
    """The process as lbaudit has it, around a plugin's code (a check, a reporter's rendering, the
    import of an entry point), and put back when the code returns or raises.

    A plugin runs in lbaudit's own process, which goes on to write the evidence and reports: a check
    that called ``os.chdir`` moved ``-o e.json --out-dir out`` to its directory, one that called
    ``os.umask(0)`` made them writable by the group, and what it printed went to standard output
    before the evidence of ``-o -`` (or the ``--json`` summary), which no reader then took.  Here
    standard output is standard error (``sys.stdout`` and descriptor 1 both) while the plugin runs;
    the working directory, umask, environment, ``sys.path`` and signal handlers are put back as they
    were; and the signal module's setters refuse (PermissionError), so that a plugin cannot take the
    time limit's SIGALRM away and run on (auditor/time_limit.py stops one that does it through
    the low-level module from a watchdog thread)."""
    main_thread = threading.current_thread() is threading.main_thread()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()  # what lbaudit wrote before stays before what the plugin writes
        except Exception:
            pass
    saved_stdout, saved_stderr = sys.stdout, sys.stderr
    try:
        saved_descriptor: int | None = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no descriptor 1 or 2 (guard_standard_streams makes them /dev/null): nothing to send
        saved_descriptor = None
    sys.stdout = sys.stderr
    try:
        saved_cwd: int | None = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        saved_cwd = None
    saved_umask = os.umask(0o077)
    os.umask(saved_umask)
    saved_environ = dict(os.environ)
    saved_path, saved_meta_path = list(sys.path), list(sys.meta_path)
    saved_handlers = {signum: signal.getsignal(signum) for signum in signal.valid_signals()
                      if signum not in (signal.SIGKILL, signal.SIGSTOP)} if main_thread else {}
    set_handler = signal.signal
    saved_setters = {name: getattr(signal, name) for name in _SIGNAL_SETTERS if hasattr(signal, name)}
    for name, setter in saved_setters.items():
        setattr(signal, name, _refused_signal_change(name, setter))
    try:
        yield
    finally:
        for name, setter in saved_setters.items():
            setattr(signal, name, setter)
        for signum, handler in saved_handlers.items():
            try:
                if handler is not None and signal.getsignal(signum) is not handler:
                    set_handler(signum, handler)
            except (OSError, ValueError, TypeError):
                pass
        sys.path[:], sys.meta_path[:] = saved_path, saved_meta_path
        if dict(os.environ) != saved_environ:
            for name in [name for name in os.environ if name not in saved_environ]:
                del os.environ[name]
            for name, value in saved_environ.items():
                if os.environ.get(name) != value:
                    os.environ[name] = value
        os.umask(saved_umask)
        if saved_cwd is not None:
            try:
                os.fchdir(saved_cwd)
            finally:
                os.close(saved_cwd)
        try:
            sys.stdout.flush()
        except Exception:
            pass
        sys.stdout, sys.stderr = saved_stdout, saved_stderr
        if saved_descriptor is not None:
            os.dup2(saved_descriptor, 1)
            os.close(saved_descriptor)
