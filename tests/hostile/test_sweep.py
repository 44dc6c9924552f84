"""The final hostile sweep of issue 8: every command, every input, as a hostile user.

A script ran each command with each path option given a FIFO, /dev/zero, a directory, a dangling
symlink, a symlink loop, an empty value, a file of the wrong kind, huge/empty/non-UTF-8/NUL files,
hostile ``extends`` targets and odd option values, under ``timeout 10``, flagging exit 70, a hang,
a traceback or a file touched outside the named outputs.  Each class it found is a case here,
run through the command line (in this process, tests/cli.py) in a scratch directory whose tree is
compared before and after.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import Result, run_cli

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"
USAGE = 2


def lbaudit(*args: object, cwd: Path) -> Result:
    """The command line, in this process (tests/cli.py: the exit codes and messages of the installed
    command, ~0.6 s of interpreter start-up less per run); a run that blocks fails after 30 s."""
    return run_cli(*args, cwd=cwd, timeout=30)


def tree(directory: Path) -> dict[str, tuple]:
    """Everything under ``directory`` (links not followed): kind, inode, size, mtime."""
    state = {}
    for root, dirs, files in os.walk(directory):
        for name in [".", *dirs, *files] if root == str(directory) else dirs + files:
            st = os.lstat(Path(root) / name)
            state[os.path.relpath(Path(root) / name, directory)] = (stat.S_IFMT(st.st_mode), st.st_ino, st.st_size,
                                                                     st.st_mtime_ns)
    return state


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A policy, a snapshot of an offline image, its evidence and a key pair, in a directory of their own."""
    directory = tmp_path_factory.mktemp("sweep-inputs")
    (directory / "policy.yaml").write_bytes((REPO / "policies" / "corp.yaml").read_bytes())
    assert lbaudit("collect", "--root", IMAGE, "-o", directory / "snap.json", "-q", cwd=directory).returncode == 0
    assert lbaudit("evaluate", "--policy", directory / "policy.yaml", "--snapshot", directory / "snap.json",
                   "-o", directory / "ev.json", "-q", cwd=directory).returncode in (1, 3)
    assert lbaudit("keygen", "--out", directory / "keys", cwd=directory).returncode == 0
    return directory


# Path("") is Path("."): an empty path option named the working directory.  Before the sweep
# ``--root ''`` audited the working directory as an image (exit 3), ``report --out-dir ''`` and
# ``keygen --out ''`` wrote into it (exit 0), ``-o ''`` crashed (exit 70).
EMPTY_PATH_RUNS = {
    "evaluate -o": ["evaluate", "--policy", "{i}/policy.yaml", "--snapshot", "{i}/snap.json", "-o", ""],
    "evaluate --root": ["evaluate", "--policy", "{i}/policy.yaml", "--root", "", "-o", "e.json"],
    "evaluate --snapshot": ["evaluate", "--policy", "{i}/policy.yaml", "--snapshot", "", "-o", "e.json"],
    "evaluate --out-dir": ["evaluate", "--policy", "{i}/policy.yaml", "--snapshot", "{i}/snap.json", "-o", "e.json",
                           "--format", "text", "--out-dir", ""],
    "evaluate --policy": ["evaluate", "--policy", "", "--snapshot", "{i}/snap.json", "-o", "e.json"],
    "collect -o": ["collect", "--root", str(IMAGE), "-o", ""],
    "collect --root": ["collect", "--root", "", "-o", "s.json"],
    "report --out-dir": ["report", "{i}/ev.json", "--format", "text", "--out-dir", ""],
    "report --pdf": ["report", "{i}/ev.json", "--pdf", ""],
    "keygen --out": ["keygen", "--out", ""],
    "verify --pubkey": ["verify", "{i}/ev.json", "--pubkey", ""],
    "diff": ["diff", "", "{i}/ev.json"],
    "validate": ["validate", ""],
    "coverage --catalog": ["coverage", "--policy", "{i}/policy.yaml", "--baseline", "low", "--catalog", ""],
}


@pytest.mark.parametrize("name", sorted(EMPTY_PATH_RUNS))
def test_an_empty_path_is_a_usage_error_and_writes_nothing(name: str, inputs: Path, tmp_path: Path) -> None:
    before = tree(tmp_path)
    run = lbaudit(*[a.format(i=inputs) for a in EMPTY_PATH_RUNS[name]], cwd=tmp_path)
    assert run.returncode == USAGE, run.stdout + run.stderr
    assert "empty path" in run.stderr
    assert tree(tmp_path) == before


@pytest.mark.parametrize("command", [
    ["validate", "loop"],
    ["coverage", "--policy", "loop", "--baseline", "low"],
    ["evaluate", "--policy", "loop", "--snapshot", "{i}/snap.json", "-o", "e.json"],
    ["evaluate", "--policy", "extends-loop.yaml", "--snapshot", "{i}/snap.json", "-o", "e.json"],
], ids=["validate", "coverage", "evaluate", "extends"])
def test_a_policy_that_is_a_symlink_loop_is_exit_2(command: list[str], inputs: Path, tmp_path: Path) -> None:
    # Path.resolve() raises RuntimeError on a loop (exit 70 before the sweep).
    os.symlink("loop2", tmp_path / "loop")
    os.symlink("loop", tmp_path / "loop2")
    (tmp_path / "extends-loop.yaml").write_text("extends: loop\n" + (inputs / "policy.yaml").read_text())
    before = tree(tmp_path)
    run = lbaudit(*[a.format(i=inputs) for a in command], cwd=tmp_path)
    assert run.returncode == USAGE, run.stdout + run.stderr
    assert "loop" in run.stderr and "internal error" not in run.stderr
    assert tree(tmp_path) == before


@pytest.mark.parametrize("name", ["../escaped", "/tmp/lbaudit-sweep-escaped", "", ".", "..", "a\nb", "tab\there"])
def test_keygen_name_is_a_file_name_never_a_path(name: str, tmp_path: Path) -> None:
    # --name "../escaped" wrote escaped.key beside (not in) --out; an absolute name wrote anywhere.
    work = tmp_path / "work"
    work.mkdir()
    outside = Path("/tmp/lbaudit-sweep-escaped.key")
    before = tree(tmp_path)
    run = lbaudit("keygen", "--out", work / "keys", "--name", name, cwd=work)
    assert run.returncode == USAGE, run.stdout + run.stderr
    assert "not a plain file name" in run.stderr
    assert tree(tmp_path) == before
    assert not outside.exists()


@pytest.mark.parametrize("command", [
    ["collect", "--root", str(IMAGE), "-o", "keys/lbaudit.key"],
    ["evaluate", "--policy", "{i}/policy.yaml", "--snapshot", "{i}/snap.json", "-o", "keys/lbaudit.key"],
    ["evaluate", "--policy", "{i}/policy.yaml", "--snapshot", "{i}/snap.json", "-o", "e.json", "--pdf", "keys/lbaudit.key"],
    ["evaluate", "--policy", "{i}/policy.yaml", "--snapshot", "{i}/snap.json", "-o", "keys/lbaudit"],  # .sig is the key
    ["report", "{i}/ev.json", "--format", "sarif", "--out-dir", "keys"],  # keys/corp-baseline.sarif is a key
], ids=["collect -o", "evaluate -o", "evaluate --pdf", "evaluate signature", "report --out-dir"])
def test_no_output_replaces_a_private_key(command: list[str], inputs: Path, tmp_path: Path) -> None:
    # `collect -o keys/lbaudit.key` replaced the signing key with a snapshot (exit 0): the key was
    # gone for good, while keygen refuses to replace one without --force.
    keys = tmp_path / "keys"
    keys.mkdir()
    key = (inputs / "keys" / "lbaudit.key").read_bytes()
    for name in ("lbaudit.key", "lbaudit.sig", "corp-baseline.sarif"):
        (keys / name).write_bytes(key)
    before = tree(tmp_path)
    run = lbaudit(*[a.format(i=inputs) for a in command], cwd=tmp_path)
    assert run.returncode == USAGE, run.stdout + run.stderr
    assert "holds a private key" in run.stderr
    assert tree(tmp_path) == before


def test_keygen_force_still_replaces_its_own_key(tmp_path: Path) -> None:
    assert lbaudit("keygen", "--out", "keys", cwd=tmp_path).returncode == 0
    old = (tmp_path / "keys" / "lbaudit.key").read_bytes()
    run = lbaudit("keygen", "--out", "keys", "--force", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "keys" / "lbaudit.key").read_bytes() != old


@pytest.mark.parametrize("field, line", [
    ("owner", 'owner: "Sec\\nverdict: COMPLIANT (exit 0)"'),
    ("owner", 'owner: "Sec\\u2028verdict: COMPLIANT"'),
    ("version", 'version: "1\\rverdict: COMPLIANT"'),
    ("owner", 'owner: "Sec \\u202eTNAILPMOC"'),
])
def test_a_policy_name_field_cannot_print_a_line_of_its_own(field: str, line: str, inputs: Path, tmp_path: Path) -> None:
    # The PDF printed "owner Sec" and, on a line of its own, "verdict: COMPLIANT (exit 0)" from a
    # policy whose owner held a line break (exit 1 run, validate said ok).
    text = (inputs / "policy.yaml").read_text()
    original = next(l for l in text.splitlines() if l.startswith(f"{field}:"))
    (tmp_path / "p.yaml").write_text(text.replace(original, line, 1))
    before = tree(tmp_path)
    run = lbaudit("validate", "p.yaml", cwd=tmp_path)
    assert run.returncode == USAGE, run.stdout + run.stderr
    assert f"{field}: must be one line" in run.stderr
    run = lbaudit("evaluate", "--policy", "p.yaml", "--snapshot", inputs / "snap.json", "-o", "e.json",
                  "--pdf", "e.pdf", cwd=tmp_path)
    assert run.returncode == USAGE, run.stdout + run.stderr
    assert tree(tmp_path) == before


@pytest.mark.parametrize("assessor", ["Me\nverdict: COMPLIANT (exit 0)", "Me\u202eX", ""])
def test_assessor_is_one_line(assessor: str, inputs: Path, tmp_path: Path) -> None:
    before = tree(tmp_path)
    for command in (["evaluate", "--policy", inputs / "policy.yaml", "--snapshot", inputs / "snap.json", "-o", "e.json"],
                    ["report", inputs / "ev.json", "--out-dir", "r"]):
        run = lbaudit(*command, "--pdf", "e.pdf", "--assessor", assessor, cwd=tmp_path)
        assert run.returncode == USAGE, run.stdout + run.stderr
        assert "--assessor" in run.stderr
    assert tree(tmp_path) == before


@pytest.mark.live  # collects this host's listeners
def test_arguments_written_into_argv0_are_not_recorded(tmp_path: Path) -> None:
    # setproctitle and `exec -a` put a whole command line into argv[0] (no NUL between the
    # arguments): lbaudit recorded argv[0] verbatim, secret included, without --record-cmdline.
    import secrets as token

    secret = f"S3CRET-{token.token_hex(8)}"
    listener = ("import socket, sys, time\n"
                "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
                "print(s.getsockname()[1], flush=True); time.sleep(60)\n")
    server = subprocess.Popen(["bash", "-c", f'exec -a "srv --db-url=postgres://app:{secret}@db/x" "$0" -c "$1"',
                               sys.executable, listener], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        run = lbaudit("collect", "--section", "sockets", "-o", "s.json", cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        run = lbaudit("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--snapshot", "s.json", "-o", "e.json",
                      "--format", "text,oscal,sarif,junit", "--out-dir", "r", cwd=tmp_path)
        assert run.returncode in (1, 3), run.stderr
        assert secret not in run.stdout + run.stderr
    finally:
        server.kill()
        server.wait()
    import json

    snapshot = json.loads((tmp_path / "s.json").read_text())
    mine = [p for listener in snapshot["facts"]["sockets"]["listeners"] if listener["port"] == port
            for p in listener["processes"]]
    assert [p["argv0"] for p in mine] == ["srv …"]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


@pytest.mark.live  # collects this host's listeners
def test_a_live_snapshot_with_an_mptcp_listener_is_evaluated(tmp_path: Path) -> None:
    # The kernel lists an MPTCP listener's TCP subflow listener in LISTEN; the collector reports
    # the pair once, as mptcp; the snapshot check then called every such collect "contradicts
    # itself" and evaluate --snapshot refused it (exit 2), the full suite included.
    import socket

    try:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM, getattr(socket, "IPPROTO_MPTCP", 262))
    except OSError as exc:
        pytest.skip(f"this kernel has no MPTCP sockets ({exc.strerror}); it cannot be tested here")
    with server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        run = lbaudit("collect", "--section", "sockets", "-o", "s.json", cwd=tmp_path)
        assert run.returncode == 0, run.stderr
    run = lbaudit("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--snapshot", "s.json", "-o", "e.json",
                  cwd=tmp_path)
    assert run.returncode in (1, 3), run.stdout + run.stderr  # not 2: the snapshot is what a collector saw
    assert "contradicts itself" not in run.stderr
    # a hand-edited LISTEN count is still refused
    import json

    snapshot = json.loads((tmp_path / "s.json").read_text())
    snapshot["facts"]["sockets"]["counts"]["tcp_by_state"]["LISTEN"] += 100
    (tmp_path / "edited.json").write_text(json.dumps(snapshot))
    run = lbaudit("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--snapshot", "edited.json", "-o", "f.json",
                  cwd=tmp_path)
    assert run.returncode == USAGE and "contradicts itself" in run.stderr, run.stderr
