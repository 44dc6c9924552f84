"""What a command imports: only what it uses (issue 16).

Each case runs the command in a fresh interpreter (``auditor.cli.run``) and prints the top-level
packages in ``sys.modules`` at its end, so nothing this test process imported earlier can hide an
import, and nothing it did not can invent one.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import auditor.report
from auditor.report import BUILTIN_REPORTERS, Reporter, reporter_names, select_reporters

REPO_ROOT = Path(__file__).resolve().parents[1]
# the committed store of the first schema version (tests/history/fixture_store.py)
REVISION_0001_STORE = REPO_ROOT / "tests" / "fixtures" / "history" / "revision-0001.db"
FIXTURE_ROOT = "tests/fixtures/roots/audit-rules"  # a --root, so the child never reads this host
HEAVY = ("reportlab", "PIL", "rich", "jinja2")  # PIL comes with reportlab; jinja2 only with --format html


RUN_CLI = "from auditor.cli import run\ncode = run({args!r})\n"


def _modules_after(args: list[str], run: str = RUN_CLI) -> tuple[int, set[str]]:
    """The exit code of ``run`` (by default ``lbaudit ARGS``) in a fresh interpreter, and every
    module it left imported, by full name (``auditor.collect.sockets``)."""
    script = "import json, sys\n" + run.format(args=args) + "print(json.dumps([code, sorted(sys.modules)]))\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    output = proc.stdout or proc.stderr  # a run on a terminal prints its result on stderr
    assert output, proc.stderr
    code, modules = json.loads(output.strip().splitlines()[-1])
    return code, set(modules)


def _imported_after(args: list[str], run: str = RUN_CLI) -> tuple[int, set[str]]:
    """Like :func:`_modules_after`, with top-level package names only (``auditor``, ``rich``)."""
    code, modules = _modules_after(args, run)
    return code, {name.split(".")[0] for name in modules}


# Beyond HEAVY: what a command that neither validates documents nor collects nor writes must not load.
MODELS_AND_IO = ("pydantic", "pydantic_core", "yaml", "psutil", "orjson", "cryptography")


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_quiet_evaluate_imports_neither_reportlab_nor_rich(tmp_path):
    code, modules = _imported_after(["evaluate", "--policy", "policies/corp.yaml", "--root", FIXTURE_ROOT,
                                     "-q", "-o", str(tmp_path / "e.json")])
    assert code in (0, 1, 3)  # compliant or not: the run ended as a run, not a usage or internal error
    assert (tmp_path / "e.json").is_file()
    assert modules.isdisjoint(HEAVY), sorted(modules.intersection(HEAVY))


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_evaluate_with_pdf_imports_reportlab_and_a_piped_summary_no_rich(tmp_path):
    """The other side: the lazy imports still happen when the work needs them.  A summary into a
    pipe is one finding per line (issue 15), which needs no rich."""
    code, modules = _imported_after(["evaluate", "--policy", "policies/corp.yaml", "--root", FIXTURE_ROOT,
                                     "-o", str(tmp_path / "e.json"), "--pdf", str(tmp_path / "e.pdf")])
    assert code in (0, 1, 3)
    assert (tmp_path / "e.pdf").is_file()
    assert "reportlab" in modules and "rich" not in modules


# stdout a pseudo-terminal, drained by a thread so a long summary cannot fill it and block.
ON_A_TERMINAL = """\
import os, pty, sys, threading
master, slave = pty.openpty()
os.dup2(slave, 1)
sys.stdout = open(1, "w", closefd=False)
threading.Thread(target=lambda: [None for _ in iter(lambda: os.read(master, 65536), b"")], daemon=True).start()
from auditor.cli import run
code = run({args!r})
sys.stdout.flush()
sys.stdout = sys.stderr
"""


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_evaluate_on_a_terminal_draws_the_summary_with_rich(tmp_path):
    code, modules = _imported_after(["evaluate", "--policy", "policies/corp.yaml", "--root", FIXTURE_ROOT,
                                     "-o", str(tmp_path / "e.json")], run=ON_A_TERMINAL)
    assert code in (0, 1, 3)
    assert "rich" in modules and "reportlab" not in modules


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_help_imports_neither_reportlab_nor_rich():
    code, modules = _imported_after(["--help"])
    assert code == 0
    assert modules.isdisjoint(HEAVY), sorted(modules.intersection(HEAVY))


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_the_format_neutral_view_imports_no_renderer():
    """auditor.report.view is what every format renders from; the PDF's reportlab stays in the PDF
    reporter, so an HTML or text rendering of the view would not pay for it."""
    code, modules = _imported_after([], run="import auditor.report.view\ncode = 0\n")
    assert code == 0
    assert modules.isdisjoint(HEAVY), sorted(modules.intersection(HEAVY))


def test_builtin_table_names_the_reporter_of_every_reporter_module():
    """BUILTIN_REPORTERS is the table, the package is the truth: every public module's Reporter is
    in it under its own name, and nothing else is."""
    declared: dict[str, str] = {}
    for info in pkgutil.iter_modules(auditor.report.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"auditor.report.{info.name}")
        for attribute, value in vars(module).items():
            if isinstance(value, Reporter):
                declared[value.name] = f"{module.__name__}:{attribute}"
    assert declared == BUILTIN_REPORTERS


def test_unknown_format_is_named_and_the_list_imports_no_reporter():
    with pytest.raises(KeyError, match="nosuch"):
        select_reporters(["sarif", "nosuch"], plugins=False)
    assert reporter_names(plugins=False) == ["hdf", "html", "json", "junit", "oscal", "pdf", "prometheus", "sarif", "text"]


def test_unknown_format_on_the_command_line_is_exit_2_listing_the_formats(tmp_path, capsys):
    from auditor.cli import run

    code = run(["evaluate", "--policy", "policies/corp.yaml", "--root", str(REPO_ROOT / FIXTURE_ROOT), "-q",
                "--no-plugins", "-o", str(tmp_path / "e.json"), "--format", "sarif,nosuch"])
    assert code == 2
    assert "unknown format 'nosuch' (available: hdf, html, json, junit, oscal, pdf, prometheus, sarif, text)" in capsys.readouterr().err
    assert not (tmp_path / "e.json").exists()


STORE_PACKAGES = ("sqlalchemy", "alembic", "psycopg")


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_evaluate_without_record_and_help_import_no_database_library(tmp_path):
    """The history store's SQLAlchemy is paid for by --record and `lbaudit history` only (issue 11)."""
    code, modules = _imported_after(["evaluate", "--policy", "policies/corp.yaml", "--root", FIXTURE_ROOT,
                                     "-q", "-o", str(tmp_path / "e.json")])
    assert code in (0, 1, 3)
    assert modules.isdisjoint(STORE_PACKAGES), sorted(modules.intersection(STORE_PACKAGES))
    code, modules = _imported_after(["--help"])
    assert code == 0 and modules.isdisjoint(STORE_PACKAGES)


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_record_imports_alembic_only_to_migrate_an_older_store(tmp_path):
    # the fixture root with a host name: a run that names no host is not recorded (test_history22_unnamed_hosts)
    root = tmp_path / "root"
    shutil.copytree(REPO_ROOT / FIXTURE_ROOT, root, symlinks=True)
    (root / "etc" / "hostname").write_text("audit-rules\n")
    args = ["evaluate", "--policy", "policies/corp.yaml", "--root", str(root), "-q", "--record"]
    new_store = ["--store", str(tmp_path / "h.db")]
    code, modules = _imported_after([*args, *new_store, "-o", str(tmp_path / "1.json")])
    # the first run creates the store at the head revision (create_all and the stamp): no migrations
    assert code in (0, 1, 3) and "sqlalchemy" in modules and "alembic" not in modules
    assert (tmp_path / "h.db").is_file()
    code, modules = _imported_after([*args, *new_store, "-o", str(tmp_path / "2.json")])
    assert code in (0, 1, 3) and "sqlalchemy" in modules and "alembic" not in modules
    # a store of the first schema version is migrated, by Alembic
    shutil.copyfile(REVISION_0001_STORE, tmp_path / "old.db")
    code, modules = _imported_after([*args, "--store", str(tmp_path / "old.db"), "-o", str(tmp_path / "3.json")])
    assert code in (0, 1, 3) and {"sqlalchemy", "alembic"} <= modules


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_help_imports_no_models_no_yaml_no_collectors_and_no_subprocess():
    """``lbaudit --help`` lists the commands from a table: no pydantic model, no YAML parser, no
    psutil, no subprocess (the targets' programs import it when they run one), no entry-point scan."""
    code, modules = _modules_after(["--help"])
    assert code == 0
    tops = {name.split(".")[0] for name in modules}
    assert tops.isdisjoint(HEAVY + MODELS_AND_IO), sorted(tops.intersection(HEAVY + MODELS_AND_IO))
    assert {"subprocess", "importlib.metadata"}.isdisjoint(modules), sorted({"subprocess", "importlib.metadata"} & modules)
    assert not [m for m in modules if m.startswith(("auditor.engine", "auditor.checks", "auditor.model.result"))]


# What `lbaudit --help` may import of lbaudit: the command table and the group's own options; every
# command's module and the targets (socket, the program runner) wait until a command runs.
# auditor.command_files: every command runs in one transaction of the files it writes (standard library only)
# auditor.model.records: @record, the frozen dataclasses of errors, config and plugins (standard library only)
# auditor.stdio: standard output and error guarded before anything is printed (standard library only)
# auditor.resource_limits: the memory a command holds for ending out of memory (standard library only)
# auditor.pydanticimport: the model package's finder that keeps pydantic from loading OpenSSL (standard library only)
# auditor.forwardrefs: the model package's compile of each annotation text once, for typing (standard library only)
HELP_MODULES = {"auditor", "auditor.cli", "auditor.command_files", "auditor.commands", "auditor.commands.options",
                "auditor.config", "auditor.errors", "auditor.resource_limits", "auditor.model", "auditor.model.codes", "auditor.model.records",
                "auditor.plugins", "auditor.pydanticimport", "auditor.forwardrefs", "auditor.safeio",
                "auditor.stdio"}  # safeio: NAME_MAX of command_files (stdlib only)


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_help_imports_only_the_command_table_not_the_targets_or_json():
    code, modules = _modules_after(["--help"])
    assert code == 0
    assert {m for m in modules if m.split(".")[0] == "auditor"} == HELP_MODULES
    # (json is not asserted: the child's own report is printed with it)
    assert {"socket", "auditor.collect"}.isdisjoint(modules), sorted({"socket", "auditor.collect"} & modules)
    # hashlib loads OpenSSL (4 MiB of every process): the transaction's link names need no digest
    assert "hashlib" not in modules


def test_target_help_names_the_forms_the_target_parser_accepts():
    """--target's help text is written out in auditor.commands.options (so --help need not import the
    targets): it must stay what auditor.collect.targets parses."""
    from auditor.collect.targets import TARGET_FORMS
    from auditor.commands.options import TARGET_HELP

    assert f"Where the facts come from: {TARGET_FORMS} [default: local, this host]." in TARGET_HELP


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_validate_reads_the_policy_without_collectors_reporters_or_writers(tmp_path):
    """``lbaudit validate`` needs the checks (their params) and the policy models; nothing that
    reads a host, renders a report, writes a file or signs."""
    code, modules = _modules_after(["validate", "policies/corp.yaml"])
    assert code == 0
    tops = {name.split(".")[0] for name in modules}
    unwanted = set(HEAVY) | {"psutil", "orjson", "cryptography"}
    assert tops.isdisjoint(unwanted), sorted(tops & unwanted)
    assert "pydantic" in tops and "yaml" in tops  # the other side: the policy is validated
    assert not [m for m in modules if m.startswith(("auditor.collect.sockets", "auditor.collect.live",
                                                    "auditor.report", "auditor.storage", "auditor.attest"))]


VALIDATE_BUILDS = """\
import io, contextlib
from auditor.cli import run
with contextlib.redirect_stdout(io.StringIO()):
    code = run({args!r})
from auditor.model import check, controls, evidence, facts, policy, result
from auditor.model.base import StrictModel
built = sorted(m.__name__ for module in (check, controls, evidence, facts, policy, result)
               for m in vars(module).values()
               if isinstance(m, type) and issubclass(m, StrictModel) and m.__module__ == module.__name__
               and m.__pydantic_complete__)
print(json.dumps([code, built]))
sys.exit(0)
"""


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_validate_builds_the_policy_models_not_the_facts_result_or_evidence_models():
    """Models are built on first use (defer_build): validate builds the policy models (and the
    control catalog's), never a facts, finding or evidence model."""
    proc = subprocess.run([sys.executable, "-c", "import json, sys\n" + VALIDATE_BUILDS.format(args=["validate", "policies/corp.yaml"])],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    code, built = json.loads(proc.stdout.strip().splitlines()[-1])
    assert code == 0
    assert "PolicyDocument" in built and "Control" in built
    from auditor.model import evidence, facts, result

    unwanted = {name for module in (evidence, facts, result) for name, value in vars(module).items()
                if isinstance(value, type) and value.__module__ == module.__name__}
    assert not set(built) & unwanted, sorted(set(built) & unwanted)


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_quiet_evaluate_on_linux_imports_no_windows_or_macos_parser_and_no_signer(tmp_path):
    code, modules = _modules_after(["evaluate", "--policy", "policies/corp.yaml", "--root", FIXTURE_ROOT,
                                    "-q", "-o", str(tmp_path / "e.json")])
    assert code in (0, 1, 3)
    assert not [m for m in modules if m.startswith(("auditor.collect.platforms.", "auditor.attest", "cryptography",
                                                    "auditor.report.console", "auditor.report.pdf"))]


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_history_list_and_trend_read_the_store_without_pydantic(tmp_path):
    """Listing runs and counting them per day read rows, not evidence documents: no pydantic model
    is imported (about 0.3 s of the whole command; issue 11's under-1-s target for both)."""
    store = str(tmp_path / "h.db")
    from auditor.history import open_store

    open_store(store).close()  # reading commands refuse a store that does not exist (they create none)
    for args in (["history", "list", "--store", store], ["history", "trend", "--days", "90", "--store", store]):
        code, modules = _imported_after(args)
        assert code == 0 and "sqlalchemy" in modules
        assert modules.isdisjoint({"pydantic", "pydantic_core"}), (args, sorted(modules & {"pydantic", "pydantic_core"}))


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_quiet_evaluate_writing_only_the_evidence_imports_no_reporter_package_and_no_http_client(tmp_path):
    """An evaluate that renders nothing never imports auditor.report (its dataclasses), nor
    http.client (email, ssl), which only talking to a container engine needs; long options, since
    click's parser imports difflib for a short one (its failed long-option match builds a suggestion)."""
    code, modules = _modules_after(["evaluate", "--policy", "policies/corp.yaml", "--root", FIXTURE_ROOT,
                                    "--quiet", "--output", str(tmp_path / "e.json")])
    assert code in (0, 1, 3)
    assert (tmp_path / "e.json").is_file()
    unwanted = {"auditor.report", "http.client", "ssl", "difflib", "ctypes"}
    assert modules.isdisjoint(unwanted), sorted(modules & unwanted)


@pytest.mark.slow  # a child interpreter (what it imports is the point)
@pytest.mark.parametrize("docker_host, imported", [
    ("tcp://127.0.0.1:2375", False),  # not a unix socket: a gap, no engine asked
    ("unix://{tmp}/no-engine.sock", True),  # an engine to ask (it is not there: a gap)
])
def test_container_engines_import_http_client_only_to_ask_an_engine(tmp_path, docker_host, imported):
    run = ("from auditor.collect.containers import read_engines\n"
           f"view = read_engines(5, environ=dict(DOCKER_HOST={docker_host.format(tmp=tmp_path)!r}))\n"
           "assert view.gaps and not view.read, view\n"
           "code = 0\n")
    code, modules = _modules_after([], run=run)
    assert code == 0
    assert ("http.client" in modules) is imported


# Every dataclass of lbaudit that a run defined, by module and name, whose methods dataclasses
# generated (each compiled from source: 3.5 M instructions a frozen class, against 1 M for @record;
# about 0.4 ms a plain one, against 0.2 ms for @mutable_record), but for a plain one that is not
# equal by its fields (eq=False), which @mutable_record does not make.  A record's __init__ is
# recognised by its first parameter's name (dataclasses names it self).
FROZEN_DATACLASSES = """\
import dataclasses, io, contextlib
from auditor.cli import run
with contextlib.redirect_stdout(io.StringIO()):
    code = run({args!r})
generated = sorted(f"{{cls.__module__}}.{{cls.__qualname__}}" for name, module in list(sys.modules.items())
                   if name.split(".")[0] == "auditor" and module is not None
                   for cls in vars(module).values()
                   if isinstance(cls, type) and cls.__module__ == name and dataclasses.is_dataclass(cls)
                   and (cls.__dataclass_params__.frozen or cls.__dataclass_params__.eq)
                   and cls.__init__.__code__.co_varnames[:1] != ("__record_self__",))
print(json.dumps([code, generated]))
sys.exit(0)
"""


@pytest.mark.slow  # a child interpreter (what it defines is the point)
@pytest.mark.parametrize("args", [
    ["validate", "policies/corp.yaml"],
    ["evaluate", "--policy", "policies/corp.yaml", "--root", FIXTURE_ROOT, "--quiet", "--output", "{tmp}/e.json"],
])
def test_evaluate_and_validate_define_their_dataclasses_with_record(tmp_path, args):
    """A frozen dataclass on the evaluate or validate path is declared with @record
    (auditor/model/records.py), whose class costs a quarter of @dataclass(frozen=True)'s, and a plain
    one with @mutable_record, half of @dataclass's (issue 16)."""
    args = [a.format(tmp=tmp_path) for a in args]
    proc = subprocess.run([sys.executable, "-c", "import json, sys\n" + FROZEN_DATACLASSES.format(args=args)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    code, generated = json.loads(proc.stdout.strip().splitlines()[-1])
    assert code in (0, 1, 3)
    assert generated == []


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_evaluate_of_an_image_imports_no_psutil(tmp_path):
    """psutil describes the owner of a listener (auditor.collect.sockets.describe_process): a run with
    no owner to describe (an image under --root) never imports it (38 M instructions, issue 16)."""
    code, modules = _imported_after(["evaluate", "--policy", "policies/corp.yaml", "--root", FIXTURE_ROOT,
                                     "--quiet", "--output", str(tmp_path / "e.json")])
    assert code in (0, 1, 3)
    assert (tmp_path / "e.json").is_file()
    assert "psutil" not in modules


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_quiet_evaluate_imports_no_shutil(tmp_path):
    """shutil (with bz2, lzma and their libraries, 0.5 MiB) is asked only for the width of a summary
    printed to a pseudo-terminal nobody sized (auditor.commands.output.terminal_width): a quiet run
    prints none (issue 16: evaluate under 40 MiB)."""
    code, modules = _modules_after(["evaluate", "--policy", "policies/corp.yaml", "--root", FIXTURE_ROOT,
                                    "--quiet", "--output", str(tmp_path / "e.json")])
    assert code in (0, 1, 3)
    assert {"shutil", "bz2", "lzma"}.isdisjoint(modules), sorted({"shutil", "bz2", "lzma"} & modules)


def test_the_summary_width_is_the_terminals_else_columns_else_80(monkeypatch):
    """terminal_width: a sized terminal's width (at least 20), else what shutil says (COLUMNS, else 80)."""
    import io

    from auditor.commands.output import terminal_width

    monkeypatch.setenv("COLUMNS", "132")
    assert terminal_width(io.StringIO()) == 132  # no descriptor: COLUMNS
    monkeypatch.setenv("COLUMNS", "7")
    assert terminal_width(io.StringIO()) == 20
    monkeypatch.delenv("COLUMNS")
    with open("/dev/null", "w") as not_a_terminal:  # shutil's answer: the terminal pytest runs on, else 80
        assert terminal_width(not_a_terminal) == max(shutil.get_terminal_size((80, 24)).columns, 20)


@pytest.mark.slow  # a child interpreter (what it imports is the point)
def test_quiet_evaluate_with_autoload_on_and_no_reporter_plugin_imports_no_reporter_package(tmp_path):
    """With plugin autoload on (a user's default), the reporter plugins are looked up, to record them
    in the evidence: when no distribution declares one, auditor.report is not imported for it (7 M
    instructions, issue 16), and the evidence records none, as loading none did."""
    from auditor.plugins import REPORTERS_GROUP, declares_entry_points

    if declares_entry_points(REPORTERS_GROUP):
        pytest.skip("a distribution of this interpreter declares an lbaudit reporter")
    args = ["evaluate", "--policy", "policies/corp.yaml", "--root", FIXTURE_ROOT, "--quiet", "--output",
            str(tmp_path / "e.json")]
    script = "import json, sys\n" + RUN_CLI.format(args=args) + "print(json.dumps([code, sorted(sys.modules)]))\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
                          env={"PATH": "/usr/bin:/bin"})
    code, modules = json.loads(proc.stdout.strip().splitlines()[-1])
    assert code in (0, 1, 3)
    assert not [m for m in modules if m.startswith("auditor.report")]
    assert "reporter_plugins" not in json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))  # none: left out
