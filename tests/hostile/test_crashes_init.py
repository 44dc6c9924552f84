"""``lbaudit init --from-host`` on a host with odd process names writes a policy that loads (fuzz
review, class "init on odd hosts").

A process may name itself anything up to 15 bytes (``/proc/self/comm``): a line break, NEL, U+2028,
a bidi override.  The starter policy put each listener's subject, process name included, into a
``# found:`` comment: a line break ended the comment and the rest of the line became YAML, so
``init --from-host`` refused its own output ("p.yaml:23:16: invalid YAML", exit 2) on such a host.
Comments now show the host's text through ``one_line`` (escapes, never a break) and the process
glob has every control, line-break and bidi character as ``?``.

The property test drives the generator (``policy_text``) with generated names and host names and
loads each result with the policy loader, as ``init`` itself does; the live test runs the command
against this host with a listener that renamed itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.commands.init import policy_text
from auditor.engine.registry import load_registry
from auditor.model.facts import ProcessInfo
from auditor.policy.loader import inspect_policy
from tests.cli import run_cli
from tests.factories import listener, snapshot

REGISTRY = load_registry(plugins=False)
ODD_NAMES = ["\nA", "A\rB", "\x85", "A\u2028B", "A\u2029", "\u202eA", "\u2066x", "*[?", "---", "\"':", "#x", "&a *b",
             "\\xffA", "{a: b}", "\t", "\x7f", "\ud7ff", "é"]


def _loads(tmp_path: Path, name: str, hostname: str = "web01") -> str:
    snap = snapshot(listeners=[listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=7, name=name)]),
                               listener("::", 9090, processes=[ProcessInfo(pid=8, name=name)], v6only=True)])
    snap = snap.model_copy(update={"provenance": snap.provenance.model_copy(update={"hostname": hostname})})
    text = policy_text(snap, "2026.11.27")
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    report = inspect_policy(path, REGISTRY, draft=True)  # as init checks its draft (reasons still TODO)
    assert report.policy is not None, (name, [p.message for p in report.problems], text)
    return text


@pytest.mark.parametrize("name", ODD_NAMES, ids=[repr(n) for n in ODD_NAMES])
def test_a_starter_policy_from_a_process_with_an_odd_name_loads(tmp_path, name):
    text = _loads(tmp_path, name)
    assert all(not line.startswith(("        # found:", "#")) or "\n" not in line for line in text.splitlines())


@settings(max_examples=60, derandomize=True, deadline=None, database=None)
@given(name=st.text(min_size=1, max_size=15), hostname=st.text(min_size=1, max_size=40))
def test_any_process_and_host_name_gives_a_policy_that_loads(tmp_path_factory, name, hostname):
    _loads(tmp_path_factory.mktemp("init"), name, hostname)


@pytest.mark.live  # reads this host's listeners
def test_init_from_host_with_a_listener_named_with_a_line_break(tmp_path):
    server = subprocess.Popen([sys.executable, "-c", (
        "import socket, time\n"
        "open('/proc/self/comm', 'wb').write(b'\\nlbaudit-odd')\n"
        "s = socket.socket(); s.bind(('0.0.0.0', 0)); s.listen()\n"
        "print(s.getsockname()[1], flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        run = run_cli("init", "--from-host", "-o", "p.yaml", cwd=tmp_path, env={"LBAUDIT_CONFIG": ""}, timeout=120)
    finally:
        server.kill()
        server.wait()
    assert run.returncode == 0, run.stderr
    text = (tmp_path / "p.yaml").read_text()
    assert re.search(rf"# found: [^\n]*tcp 0\.0\.0\.0:{port} \? \(comm \\nlbaudit-odd, unproven\)", text), text
    # a name it gave itself proves nothing to net.bind_addresses (a process exception would match it
    # neither way, and the listener would be not_reviewed): the exception names its executable
    [match] = [line for line in text.splitlines() if line.startswith("        - match:") and re.search(rf"\b{port}\b", line)]
    assert match.startswith(f'        - match: {{exe: "{os.path.realpath(sys.executable)}", ports: [')
    # once its reasons are written (validate refuses a reason TODO)
    (tmp_path / "p.yaml").write_text(text.replace("          reason: TODO", "          reason: reviewed"))
    assert run_cli("validate", "p.yaml", cwd=tmp_path, env={"LBAUDIT_CONFIG": ""}).returncode == 0
