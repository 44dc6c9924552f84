"""Unit tests never read this host: only tests marked ``live`` (or ``root``) may.

A unit test that read this host's ``/`` once broke when podman was installed mid-run.  An audit hook
(PEP 578) sees every open, directory listing, netlink socket and program start of this process; a
test without the marker that touches the host's network state, sysctls, audit, systemd units or
another process's /proc entries fails, naming what it read.  The hook only records (an exception
raised inside it would be caught by lbaudit and turned into a gap, hiding the read); the test fails
at teardown.  Child processes are not watched: the tests that start one are about that process.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import sys
from pathlib import Path

import pytest

from auditor.config import SETTINGS


def _cache_bytecode_outside_the_tree() -> None:
    """PYTHONDONTWRITEBYTECODE (set in many containers) made every run compile lbaudit again and
    rewrite the asserts of every test module again: collecting the suite took 8-11 s of CPU instead
    of 4-5 s on the 2-core machine, a seventh of a 30 s budget.  Bytecode is cached instead under
    ``$XDG_CACHE_HOME/lbaudit-tests/pycache`` (Python's PYTHONPYCACHEPREFIX, for this process and the
    ones its tests start), so the checkout still gets no ``__pycache__``.
    ``LBAUDIT_TEST_NO_BYTECODE=1`` keeps the variable's meaning."""
    if not sys.dont_write_bytecode or sys.pycache_prefix or os.environ.get("LBAUDIT_TEST_NO_BYTECODE"):
        return
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    prefix = cache_home / "lbaudit-tests" / "pycache"
    try:
        prefix.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return  # no writable cache: compile as before
    sys.pycache_prefix = str(prefix)
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


_cache_bytecode_outside_the_tree()


def _temporary_directories_in_memory() -> None:
    """Every file lbaudit writes goes through ``write_atomic``, which fsyncs the file and then its
    directory, as it must.  On the 2-core machine's ext4 disk that is ~8 ms a file, and the inner
    loop writes ~800: 6 s of a 70 s serial run spent waiting for the disk and testing nothing.  So
    pytest's temporary directories (``tmp_path``, ``tmp_path_factory``) are made under /dev/shm, a
    tmpfs where fsync returns at once; the same calls are made, and the tests are the same.
    A temporary root chosen already (``PYTEST_DEBUG_TEMPROOT``, pytest's variable for it, or
    ``TMPDIR``) is kept, and ``LBAUDIT_TEST_TMP_ON_DISK=1`` keeps pytest's default."""
    if os.environ.get("PYTEST_DEBUG_TEMPROOT") or os.environ.get("TMPDIR") or os.environ.get("LBAUDIT_TEST_TMP_ON_DISK"):
        return
    memory = Path("/dev/shm")
    if not (memory.is_dir() and os.access(memory, os.W_OK | os.X_OK)):
        return
    # A container's /dev/shm is often 64 MiB (Docker's default): the suite's PostgreSQL data
    # directories, images and large evidence would fill it and fail tests for want of space.
    stat = os.statvfs(memory)
    if stat.f_bavail * stat.f_frsize >= 4 << 30:
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(memory)


_temporary_directories_in_memory()


def _stopping_signals_as_a_terminal_leaves_them() -> None:
    """A suite started under ``nohup`` or in the background by a shell without job control inherits
    SIGHUP or SIGINT ignored, and every process it starts inherits that too; lbaudit rightly keeps an
    ignored signal ignored (``nohup lbaudit ...`` must go on), so each test that stops lbaudit with
    it failed (exit 1: the run went on).  The suite runs as a terminal's shell starts it: both at
    their defaults, here and in what it starts.  The tests of ignored signals ignore them themselves."""
    import signal

    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_stopping_signals_as_a_terminal_leaves_them()


def _parse_each_policy_text_once() -> None:
    """The inner loop loads a policy ~660 times, but only ~190 distinct texts (the shipped and
    fixture policies, evaluated by test after test), and lbaudit's YAML reader is pure Python:
    ~9 ms a policy, 5-6 s of CPU a run spent parsing the same bytes again.  The policy loader's
    ``load_located`` ((text, kind) -> LocatedDocument, a pure function of both) is wrapped in this
    process so that a text it has parsed is not parsed again: each call gets a fresh deep copy of
    the first parse, so no test can change what the next one reads.  A text that does not parse
    is never kept (every hostile or mutated policy goes through the real reader each time), and
    the first load of every text in each process is the real parse.  ``LBAUDIT_TEST_PARSE_EVERY_POLICY=1``
    parses every load again."""
    if os.environ.get("LBAUDIT_TEST_PARSE_EVERY_POLICY"):
        return
    import copy

    from auditor.policy import loader, yamlsafe

    parse = yamlsafe.load_located
    parsed: dict[tuple[str, yamlsafe.DocumentKind], yamlsafe.LocatedDocument] = {}

    def load_located_once(text: str, kind: yamlsafe.DocumentKind) -> yamlsafe.LocatedDocument:
        first = parsed.get((text, kind))
        if first is None:
            first = parse(text, kind)  # a YamlProblem propagates and nothing is kept
            if len(parsed) < 1024:  # mutated policies (hypothesis) must not fill memory
                parsed[(text, kind)] = first
        return yamlsafe.LocatedDocument(value=copy.deepcopy(first.value), positions=dict(first.positions),
                                        texts=dict(first.texts))

    loader.load_located = load_located_once


def pytest_configure(config: pytest.Config) -> None:
    # Not in pytest-xdist's controller, which runs no test: importing the policy loader (pydantic,
    # the models) there cost ~0.25 s of CPU at the start of every ``-n 2`` run, while the two
    # workers start on the same two cores.  Still before any test module is collected.
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return
    _parse_each_policy_text_once()

# What "this host" is to lbaudit: the places collectors read (LocalHost), not the interpreter's own files.
HOST_PATHS = re.compile(
    r"^/(?:proc/(?:net|sys|self/net|self/fd|[0-9]+/(?:net|fd|cmdline|comm|status|exe))(?:/|$)"
    r"|etc/(?:sysctl\.conf|sysctl\.d|audit|systemd)(?:/|$)"
    r"|(?:usr/)?lib/(?:sysctl\.d|systemd/system)(?:/|$)|run/(?:sysctl\.d|systemd/system|netns)(?:/|$))"
)
REOPENED = re.compile(r"^/proc/self/fd/[0-9]+$")
HOST_PROGRAMS = frozenset({"auditctl", "augenrules", "sysctl", "systemctl", "systemd-analyze", "ss", "ausyscall",
                           # the netns section's NAT readers
                           "iptables-save", "ip6tables-save", "iptables-legacy-save", "ip6tables-legacy-save", "nft"})

# Programs that make a test an integration test: a daemon, a browser or another program stack of its
# own.  A test not marked ``integration`` that starts one fails, naming it (the marker is what keeps
# it out of the inner loop, ``pytest -m "not integration and not slow"``).  PostgreSQL is started
# through runuser, so its tests are marked by fixture instead (tests/history/conftest.py).
INTEGRATION_PROGRAMS = frozenset({"chromium", "chromium-browser", "dockerd", "docker", "sshd", "ssh", "ansible",
                                  "ansible-playbook", "ansible-galaxy", "ansible-test", "systemd-analyze",
                                  "initdb", "pg_ctl", "postgres"})
# Tests that read or change this host's shared state (its listeners, sysctls, audit rules, network
# namespaces, docker0) are meant to run in one pytest-xdist worker, one after the other, so that
# under ``-n 2`` a test comparing two readings of this host never sees another test's listener, rule
# or namespace.  pytest-xdist 3.8 groups by suffixing ``item._nodeid`` with ``@group``, which pytest
# 9.2 no longer reads (``nodeid`` is ``str(item._id)``): the group was ignored and live tests ran in
# both workers (the live_families, docker and capabilities tests then failed), so the suffix is put
# where pytest 9.2 reads it (``_group_in_node_id``).
HOST_GROUP = "host"

_watching: list[str] | None = None  # the host reads of the running unit test, or None when reads are allowed
_starting: list[str] | None = None  # the integration programs the running non-integration test started


def _audit(event: str, args: tuple) -> None:
    if _starting is not None and event == "subprocess.Popen" and args:
        program = _program(args)
        if program is not None and os.path.basename(program) in INTEGRATION_PROGRAMS:
            _starting.append(os.path.basename(program))
    if _watching is None:
        return
    if event in ("open", "os.listdir", "os.scandir") and args:
        path = args[0]
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        # /proc/self/fd/N opened is a descriptor of this process reopened (safeio.open_regular
        # opens a file for reading through its O_PATH descriptor), not the host's table read
        if isinstance(path, str) and HOST_PATHS.match(path) and not (event == "open" and REOPENED.match(path)):
            _watching.append(f"{event} {path}")
    elif event == "socket.__new__" and len(args) >= 2 and args[1] == socket.AF_NETLINK:
        _watching.append("netlink socket")
    elif event == "subprocess.Popen" and args:
        program = _program(args)
        if program is not None and os.path.basename(program) in HOST_PROGRAMS:
            _watching.append(f"runs {program}")


def _program(args: tuple) -> str | None:
    """The program of a ``subprocess.Popen`` audit event (executable, args, cwd, env)."""
    executable = args[0] if isinstance(args[0], (str, bytes)) else None
    argv = args[1] if len(args) > 1 else None
    program = executable or (argv[0] if isinstance(argv, (list, tuple)) and argv else argv)
    if isinstance(program, bytes):
        program = os.fsdecode(program)
    return program if isinstance(program, str) else None


sys.addaudithook(_audit)

# Tests run without this machine's lbaudit configuration: no configuration file (an empty
# LBAUDIT_CONFIG) and none of the variables of auditor/config.py; tests of the configuration set
# their own.
os.environ["LBAUDIT_CONFIG"] = ""
for _setting in SETTINGS:
    os.environ.pop(_setting.env, None)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers that follow from what a test uses, so that a new test of that kind has them too:
    a test with its own dockerd (``docker``) or the PostgreSQL test server (``postgres_server``,
    tests/history/conftest.py; ``store_url`` marks its ``[postgresql]`` half) is ``integration``;
    a test that reads this host (``live``, ``root``) runs in the ``host`` xdist group unless it names
    a group of its own."""
    for item in items:
        starts_a_daemon = item.get_closest_marker("docker") or "postgres_server" in getattr(item, "fixturenames", ())
        if starts_a_daemon and not item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.integration)
        if ((item.get_closest_marker("live") or item.get_closest_marker("root"))
                and not item.get_closest_marker("xdist_group")):
            item.add_marker(pytest.mark.xdist_group(HOST_GROUP))
        if getattr(config.option, "loadgroup", False):  # a pytest-xdist worker under --dist loadgroup
            _group_in_node_id(item)


def _group_in_node_id(item: pytest.Item) -> None:
    """``nodeid@group``, as pytest-xdist's LoadGroupScheduling reads it, in the node id pytest 9.2
    reports (``str(item._id)``; xdist's own suffix goes to ``item._nodeid``, which it no longer reads)."""
    names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                    for m in item.iter_markers("xdist_group")})
    node_id = getattr(item, "_id", None)
    if not names or node_id is None or "_str_cache" not in getattr(type(node_id), "__slots__", ()):
        return  # no group, or a pytest whose node ids xdist suffixes itself
    grouped = dataclasses.replace(node_id)
    object.__setattr__(grouped, "_str_cache", f"{item.nodeid}@{'_'.join(names)}")
    item._id = grouped


@pytest.fixture(autouse=True)
def _unit_tests_start_no_integration_stack(request: pytest.FixtureRequest):
    global _starting
    if request.node.get_closest_marker("integration"):
        yield
        return
    started: list[str] = []
    _starting = started
    try:
        yield
    finally:
        _starting = None
    if started:
        pytest.fail("a test that is not marked integration started " + ", ".join(sorted(set(started)))
                    + " (mark it pytest.mark.integration: it stays out of the inner loop)", pytrace=False)


@pytest.fixture(autouse=True)
def _unit_tests_do_not_read_this_host(request: pytest.FixtureRequest):
    global _watching
    if request.node.get_closest_marker("live") or request.node.get_closest_marker("root"):
        yield
        return
    reads: list[str] = []
    _watching = reads
    try:
        yield
    finally:
        _watching = None
    if reads:
        pytest.fail("a unit test read this host (mark it live if that is its point): "
                    + ", ".join(sorted(set(reads))[:10]), pytrace=False)


# A test that is neither ``slow`` nor ``integration`` but took longer than this (its call alone) is
# named at the end of the run, so the inner loop stays fast as tests are added (mark it, or make it fast).
UNMARKED_SLOW_SECONDS = 2.0
_unmarked_slow: list[tuple[float, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if (report.when == "call" and report.duration > UNMARKED_SLOW_SECONDS
            and not {"slow", "integration"} & set(report.keywords)):
        _unmarked_slow.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _unmarked_slow:
        terminalreporter.section("tests over 2 s marked neither slow nor integration")
        for duration, nodeid in sorted(_unmarked_slow, reverse=True)[:15]:
            terminalreporter.line(f"{duration:6.2f}s {nodeid}")
