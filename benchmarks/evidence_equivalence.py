#!/usr/bin/env python3
"""Do two checkouts write the same snapshot and evidence for a host with thousands of listeners?

Issue 16's rule for the listener-scaling work: the evidence (and the snapshot it embeds) of the same
inputs is the same, apart from the time fields (``TIME_FIELDS`` of ``auditor.model.evidence``, and
``provenance.collected_at`` of a snapshot).  This process opens N real listeners of several kinds
(TCP on 127.0.0.1, 0.0.0.0, ::1, :: dual-stack and v6only; UDP on 127.0.0.1 and 0.0.0.0), so that
findings pass, fail and carry every message shape the two listener checks write, and, while it holds
them, runs with each checkout:

* ``lbaudit collect -o S``: the snapshots must be equal but for ``collected_at``;
* ``lbaudit evaluate --policy policies/corp.yaml --snapshot S0`` (the same snapshot file for both):
  the evidence bytes must be equal once the time fields are blanked (and the rest of the bytes,
  layout and key order included, the same: the comparison is of the files' bytes with the time
  values replaced, not of parsed documents);
* ``lbaudit evaluate --policy policies/corp.yaml`` of this host: equal but for the time fields.

In the two documents collected by the runs themselves, the pids of the network namespaces (which hold
the collecting process) and so the facts digest are blanked too.

Run it in a private network namespace, as bench_listeners.py is (the listeners are the only ones):

    unshare --net --pid --fork --mount-proc sh -c 'ip link set lo up; \\
        python3 benchmarks/evidence_equivalence.py --baseline DIR [--listeners 3000]'

Exit 0 when everything matches, 1 (with the first differing line) otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_listeners import raise_fd_limit  # sibling: run as python3 benchmarks/evidence_equivalence.py
from bench_startup import LBAUDIT, compile_bytecode, env_for, in_checkout

REPO = Path(__file__).resolve().parent.parent
TIME_FIELDS = (("run", "started_at"), ("run", "finished_at"), ("run", "timings_ms"),
               ("snapshot", "provenance", "collected_at"))
KINDS = (
    (socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1", None),
    (socket.AF_INET, socket.SOCK_STREAM, "0.0.0.0", None),
    (socket.AF_INET6, socket.SOCK_STREAM, "::1", True),
    (socket.AF_INET6, socket.SOCK_STREAM, "::", False),
    (socket.AF_INET6, socket.SOCK_STREAM, "::", True),
    (socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1", None),
    (socket.AF_INET, socket.SOCK_DGRAM, "0.0.0.0", None),
)


def open_listeners(count: int) -> list[socket.socket]:
    held = []
    for number in range(count):
        family, kind, address, v6only = KINDS[number % len(KINDS)]
        sock = socket.socket(family, kind)
        if v6only is not None:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
        sock.bind((address, 0))
        if kind == socket.SOCK_STREAM:
            sock.listen(1)
        held.append(sock)
    return held


def _blank_pids(value: object) -> None:
    if isinstance(value, dict):
        for key, member in value.items():
            if key == "pids" and isinstance(member, list):
                value[key] = "PIDS"
            else:
                _blank_pids(member)
    elif isinstance(value, list):
        for member in value:
            _blank_pids(member)


def without_time_fields(path: Path, fields: tuple[tuple[str, ...], ...], live: bool = False) -> str:
    """The file's text with the value of each time field replaced by "TIME": the layout, key order
    and every other byte stay as written.  ``live``: a document collected from this host by the run
    itself, whose network namespace holds that run's own process: the pids of the namespaces (and
    so the facts digest) differ from run to run, and are blanked too."""
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    if live:
        facts = document.get("facts") or document.get("snapshot", {}).get("facts", {})
        _blank_pids(facts.get("netns"))
        if "facts_sha256" in document:
            document["facts_sha256"] = "DIGEST OF FACTS WITH PIDS"
    for field in fields:
        holder = document
        for key in field[:-1]:
            holder = holder.get(key, {}) if isinstance(holder, dict) else {}
        if isinstance(holder, dict) and field[-1] in holder:
            holder[field[-1]] = "TIME"
    blanked = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    # The blanked document must be the file as written but for those values: re-encoding the parsed
    # file without blanking gives back its exact bytes, so comparing blanked texts compares bytes.
    if json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n" != text:
        raise SystemExit(f"{path}: not in lbaudit's file form (indent 2, sorted keys): cannot compare")
    return blanked


def lbaudit(repo: Path, python: str, cwd: Path, *args: str) -> None:
    proc = subprocess.run(in_checkout([python, "-c", LBAUDIT, *args], repo), cwd=cwd, env=env_for(repo), capture_output=True)
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"{repo}: lbaudit {' '.join(args)}: exit {proc.returncode}: {proc.stderr.decode()[-500:]}")


def same(label: str, first: str, second: str) -> bool:
    if first == second:
        print(f"{label}: identical ({len(first.encode()):,} bytes)")
        return True
    # The first differing line and its neighbours (a whole diff of 100,000-line files is slow).
    lines, others = first.splitlines(), second.splitlines()
    at = next((i for i, (a, b) in enumerate(zip(lines, others)) if a != b), min(len(lines), len(others)))
    print(f"{label}: DIFFERENT from line {at + 1} (this {len(lines)} lines, baseline {len(others)})")
    for name, text in (("this", lines), ("baseline", others)):
        print(f"--- {name}\n" + "\n".join(text[max(at - 3, 0):at + 4]))
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=3000, help="listeners to open (default 3000)")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout under test (default: this one)")
    parser.add_argument("--baseline", type=Path, required=True, help="the checkout to compare with")
    parser.add_argument("--python", default=sys.executable, help="interpreter with lbaudit's dependencies")
    args = parser.parse_args()
    repos = {"this": args.repo.resolve(), "baseline": args.baseline.resolve()}
    for repo in repos.values():
        compile_bytecode(args.python, repo)
    raise_fd_limit(args.listeners + 256)
    snapshot_fields = (("provenance", "collected_at"),)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        # Both run in OUT with the same relative policy path: the evidence records it as given.
        policy = "corp.yaml"
        (out / policy).write_bytes((repos["this"] / "policies" / "corp.yaml").read_bytes())
        held = open_listeners(args.listeners)
        try:
            for name, repo in repos.items():
                lbaudit(repo, args.python, out, "collect", "-q", "-o", str(out / f"{name}.snapshot.json"))
                lbaudit(repo, args.python, out, "evaluate", "--policy", policy, "-q", "-o", str(out / f"{name}.live.json"))
        finally:
            for sock in held:
                sock.close()
        for name, repo in repos.items():
            lbaudit(repo, args.python, out, "evaluate", "--policy", policy, "-q", "--snapshot",
                    str(out / "this.snapshot.json"), "-o", str(out / f"{name}.offline.json"))
        listeners = len(json.loads((out / "this.snapshot.json").read_text())["facts"]["sockets"]["listeners"])
        print(f"{listeners} listeners in the snapshot ({args.listeners} opened)")
        results = [
            same("snapshot (collect)", *(without_time_fields(out / f"{n}.snapshot.json", snapshot_fields, live=True) for n in repos)),
            same("evidence of the same snapshot", *(without_time_fields(out / f"{n}.offline.json", TIME_FIELDS)
                                                    for n in repos)),
            same("evidence of this host", *(without_time_fields(out / f"{n}.live.json", TIME_FIELDS, live=True) for n in repos)),
        ]
        if os.environ.get("LBAUDIT_KEEP_EQUIVALENCE"):
            for path in out.iterdir():
                (Path(os.environ["LBAUDIT_KEEP_EQUIVALENCE"]) / path.name).write_bytes(path.read_bytes())
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
