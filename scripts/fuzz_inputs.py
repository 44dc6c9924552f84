"""Structured fuzz of lbaudit's untrusted inputs, in-process (tests/cli.py's run_cli), for crash hunting.

Each iteration takes a valid input (the policy and snapshot of tests/hostile/test_input_loaders.py,
the signed evidence evaluated from them, a waivers file, a configuration file, an ``extends`` pair),
mutates a few of its values (a value of the same type made hostile: 10**400, NaN, -0.0, a lone
surrogate, an RTL mark, 100,000 characters; another type; a key removed or added) and runs the
command that reads it.  A run is a crash when it exits with a code not documented for it (70 and
anything else outside 0-3 and 10-12), prints a traceback, or says nothing on exit 2.  Not a test:
its findings became tests/hostile/test_crashes_*.py.

    PYTHONPATH=$PWD python scripts/fuzz_inputs.py KIND [ITERATIONS] [SEED]

KIND: snapshot, policy, params, extends, waivers, config, evidence, options, or all.
A crash is printed with its working directory, which is kept (under $TMPDIR/lbaudit-fuzz-*).
"""

from __future__ import annotations

import collections
import copy
import json
import os
import random
import re
import shutil
import sys
import tempfile
import traceback
from typing import Any

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from auditor.model.base import canonical_sha256  # noqa: E402
from tests.cli import run_cli  # noqa: E402
from tests.hostile.test_input_loaders import POLICY, rich_snapshot_bytes  # noqa: E402

SPECIAL: list[Any] = [
    None, True, False, 0, -1, -0.0, 0.5, 10**400, -(10**400), 2**70, 2**63, 2**64, 70000, -70000,
    float("nan"), float("inf"), float("-inf"), 1e308, "", "\x00", "a\x00b", "\ud800", "x\udcff", "\u202eevil",
    "x" * 100_000, "9" * 5000, "::", ":::1", "1::2::3", "fe80::1%", "fe80::1%" + "e" * 300, "::ffff:1.2.3.999",
    "300.1.1.1", "0.0.0.0/33", "1e400", "NaN", "-0", "2027-02-30", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
    "-1-0", "65536-1", "\n", "\u00e9", "\u0000\u0001", [], {}, [None], {"": None}, [[[]]], {"a": {"b": []}},
]


def rand_value(r: random.Random, depth: int = 0) -> Any:
    c = r.random()
    if c < 0.6 or depth > 2:
        return r.choice(SPECIAL)
    if c < 0.7:
        return r.randint(-2**70, 2**70)
    if c < 0.8:
        return "".join(chr(r.choice([r.randint(0, 0x7f), r.randint(0x80, 0xffff), r.randint(0x10000, 0x10ffff)]))
                       for _ in range(r.randint(0, 8)))
    if c < 0.9:
        return [rand_value(r, depth + 1) for _ in range(r.randint(0, 3))]
    return {str(rand_value(r, 3))[:8]: rand_value(r, depth + 1) for _ in range(r.randint(0, 3))}


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, prefix + (index,))
    return found


def same_type(r: random.Random, old: Any) -> Any:
    """Mostly a hostile value of the type already there, so that the mutant gets past the schema."""
    if isinstance(old, bool):
        return r.choice([not old, 0, 1, "true", None])
    if isinstance(old, int):
        return r.choice([10**400, -(10**400), 2**64, -1, 70000, 2**70, float("nan"), float("inf"), -0.0, 1.5,
                         str(old), 0, 2**31, 2**63 - 1, old + 1, old - 1, -old])
    if isinstance(old, float):
        return r.choice([float("nan"), float("inf"), float("-inf"), -0.0, 1e308, 10**400, 5e-324, 0.0, 1.0])
    if isinstance(old, str):
        return r.choice(["", old + "\x00", "\ud800" + old, old * 2, "\u202e" + old, old[:len(old) // 2], "x" * 100_000,
                         old.replace(":", "::"), old + "%eth0", old.upper(), " " + old + " ", old + "\n" + old,
                         old.replace("1", "9" * 30), old.replace(".", ""), old[::-1]])
    if isinstance(old, list):
        return r.choice([[], old + old[:1], old[::-1], old[1:], {str(i): x for i, x in enumerate(old)}, old[:1] * 50])
    if isinstance(old, dict):
        return r.choice([{}, dict(list(old.items())[1:]), list(old.values()), list(old.keys())])
    return rand_value(r)


def mutate(r: random.Random, document: Any, rounds: int) -> Any:
    data = copy.deepcopy(document)
    for _ in range(r.randint(1, rounds)):
        candidates = [p for p in paths(data) if p]
        if not candidates:
            break
        # audit rules hold most leaves: aim at everything else most of the time
        others = [p for p in candidates if not ({"loaded_rules", "persistent_rules"} & set(map(str, p)))]
        path = r.choice(others if others and r.random() < 0.7 else candidates)
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = r.choice(["typed"] * 4 + ["replace", "replace", "delete", "add"])
        if action == "typed":
            parent[path[-1]] = same_type(r, parent[path[-1]])
        elif action == "replace":
            parent[path[-1]] = rand_value(r)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[str(rand_value(r, 3))[:10]] = rand_value(r)
        else:
            parent.append(rand_value(r))
    return data


def dump_json(document: Any) -> str:
    # ensure_ascii keeps a lone surrogate as its escape; allow_nan writes NaN and Infinity
    return json.dumps(document, indent=1, ensure_ascii=True, allow_nan=True, default=str)


class _Dumper(yaml.SafeDumper):
    pass


def _represent_float(dumper: yaml.SafeDumper, value: float) -> yaml.Node:
    if value != value:
        return dumper.represent_scalar("tag:yaml.org,2002:float", ".nan")
    return yaml.SafeDumper.represent_float(dumper, value)


_Dumper.add_representer(float, _represent_float)


def dump_yaml(document: Any) -> str | None:
    try:  # allow_unicode=False: a lone surrogate is written as its "\ud800" escape
        return yaml.dump(document, Dumper=_Dumper, allow_unicode=False, width=10**9)
    except Exception:
        return None


class Inputs:
    def __init__(self, base: str) -> None:
        self.base = base
        self.policy = f"{base}/policy.yaml"
        self.snapshot = f"{base}/snap.json"
        self.evidence = f"{base}/ev.json"
        with open(self.policy, "w") as f:
            f.write(POLICY)
        with open(self.snapshot, "wb") as f:
            f.write(rich_snapshot_bytes())
        assert run_cli("keygen", "--out", f"{base}/keys", cwd=base).returncode == 0
        run = run_cli("evaluate", "--policy", self.policy, "--snapshot", self.snapshot, "-o", self.evidence,
                      "--sign-key", f"{base}/keys/lbaudit.key", "--no-plugins", "-q", cwd=base)
        assert run.returncode in (1, 3), run.stderr
        self.snapshot_doc = json.loads(rich_snapshot_bytes())
        self.policy_doc = yaml.safe_load(POLICY)
        with open(self.evidence) as f:
            self.evidence_doc = json.load(f)


def _write(path: str, text: str) -> str:
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(text)
    return path


def command(kind: str, r: random.Random, work: str, good: Inputs) -> tuple[list[str], dict[str, str]] | None:
    """The command line (and environment) of one iteration of ``kind``, its mutated input written in ``work``."""
    out = os.path.join(work, "out")
    os.makedirs(out)
    env: dict[str, str] = {}
    evaluate = ["evaluate", "--policy", good.policy, "--snapshot", good.snapshot, "-o", f"{out}/ev.json",
                "--no-plugins", "-q"]
    formats = ["text", "junit", "sarif", "html", "oscal", "hdf", "prometheus", "junit,sarif,oscal,hdf,html,text"]
    if kind == "snapshot":
        f = _write(f"{work}/snap.json", dump_json(mutate(r, good.snapshot_doc, 3)))
        args = ["evaluate", "--policy", good.policy, "--snapshot", f, "-o", f"{out}/ev.json", "--no-plugins", "-q",
                "--format", r.choice(formats), "--out-dir", out]
        if r.random() < 0.2:
            args += ["--pdf", f"{out}/r.pdf"]
        if r.random() < 0.1:
            args = ["init", "--from-snapshot", f, "-o", f"{out}/p.yaml"] if r.random() < 0.5 else args
        return args, env
    if kind in ("policy", "params"):
        document = copy.deepcopy(good.policy_doc)
        if kind == "policy":
            document = mutate(r, document, 2)
        else:
            rule = r.choice(document["rules"])
            rule["params"] = mutate(r, {"p": rule.get("params") or {}}, 4).get("p") if r.random() < 0.85 else rand_value(r)
            document["rules"] = [rule]
            document.pop("waivers", None)
        text = dump_yaml(document)
        if text is None:
            return None
        f = _write(f"{work}/policy.yaml", text)
        if r.random() < 0.25:
            return ["validate", f], env
        return ["evaluate", "--policy", f, "--snapshot", good.snapshot, "-o", f"{out}/ev.json", "--no-plugins", "-q",
                "--format", r.choice(formats), "--out-dir", out], env
    if kind == "extends":
        parent = mutate(r, good.policy_doc, 2) if r.random() < 0.5 else copy.deepcopy(good.policy_doc)
        child = {"id": "child", "version": "2", "owner": "o", "extends": "parent.yaml",
                 "rules": [{"id": "listeners", "severity": "low"}, {"id": "ephemeral", "enabled": False},
                           {"id": "time-wait", "params": {"max_fin_timeout": 30}}]}
        if r.random() < 0.7:
            child = mutate(r, child, 2)
        parent_text, child_text = dump_yaml(parent), dump_yaml(child)
        if parent_text is None or child_text is None:
            return None
        _write(f"{work}/parent.yaml", parent_text)
        f = _write(f"{work}/child.yaml", child_text)
        if r.random() < 0.3:
            return ["validate", f], env
        return ["evaluate", "--policy", f, "--snapshot", good.snapshot, "-o", f"{out}/ev.json", "--no-plugins", "-q"], env
    if kind == "waivers":
        waivers = {"waivers": [
            {"rule": "listeners", "subject": "tcp 0.0.0.0:* *", "reason": "migration", "approver": "CISO",
             "expires": "2027-03-31"},
            {"rule": "time-wait", "subject": "*", "reason": "r", "approver": "a", "expires": "2026-12-31"}]}
        text = dump_yaml(mutate(r, waivers, 3))
        if text is None:
            return None
        f = _write(f"{work}/w.yaml", text)
        if r.random() < 0.3:
            return ["validate", good.policy, "--waivers", f], env
        return evaluate + ["--waivers", f, "--format", "sarif,html,oscal", "--out-dir", out], env
    if kind == "config":
        config = {"org_name": "Org", "assessor": "A", "color": "never", "expiry_warning_days": 30, "max_age": "7d",
                  "out_dir": "reports", "store_timeout": 30, "policy": good.policy, "waivers": None}
        config.pop("waivers")
        text = dump_yaml(mutate(r, config, 3))
        if text is None:
            return None
        env["LBAUDIT_CONFIG"] = _write(f"{work}/config.yaml", text)
        return r.choice([evaluate + ["--format", "html"], ["config", "show"], ["validate"],
                         ["report", good.evidence, "--format", "oscal", "--pdf", f"{out}/x.pdf"]]), env
    if kind == "evidence":
        document = mutate(r, good.evidence_doc, 3)
        if r.random() < 0.6 and isinstance(document, dict) and "policy" in document:
            # Sealed again: the policy digest made to match the edit, so that the mutant gets past the
            # evidence's consistency check to the reporters (verify still sees the edit).
            try:
                document["policy_sha256"] = canonical_sha256(document["policy"])
            except (TypeError, ValueError):
                pass
        f = _write(f"{work}/ev.json", dump_json(document))
        which = r.choice(["show", "json", "report", "pdf", "verify", "diff", "diff2", "import"])
        return {
            "show": ["show", f],
            "json": ["show", f, "--json"],
            "report": ["report", f, "--out-dir", out, "--format", r.choice(formats)],
            "pdf": ["report", f, "--pdf", f"{out}/r.pdf", "--format", "text", "--out-dir", out],
            "verify": ["verify", f, "--pubkey", f"{good.base}/keys/lbaudit.pub"],
            "diff": ["diff", good.evidence, f],
            "diff2": ["diff", f, good.evidence],
            "import": ["history", "import", "--store", f"{out}/h.db", f],
        }[which], env
    if kind == "options":
        values = ["", "0", "-1", "1e400", "nan", "inf", "9" * 400, "7d", "36h", "none", "1.5d", "-3d", "P1D", "\udc80",
                  "\u00e9", "x" * 5000, "/dev/zero", "/", ".", "a/../../b", "-", "--", "text,text", ",", "sarif,,",
                  "html,pdf", "unknown", "root:", "root:/nonexist", "snapshot:", "local:", "netns:", "container:",
                  "image:", "1" * 30 + "s", "0s", "1s", "100000000000d"]
        options = ["--max-age", "--fail-on", "--expiry-warning-days", "--format", "--target", "--out-dir", "--org-name",
                   "--assessor", "--trigger", "--color", "--textfile-dir", "--org-logo", "--waivers", "--store"]
        args = list(evaluate)
        for _ in range(r.randint(1, 3)):
            option = r.choice(options)
            if option == "--target":
                args = [a for a in args if a not in ("--snapshot", good.snapshot)]
            args += [option, r.choice(values)]
        return args, env
    raise SystemExit(f"unknown kind {kind!r}")


KINDS = ["snapshot", "policy", "params", "extends", "waivers", "config", "evidence", "options"]


def hunt(kind: str, iterations: int, seed: int, good: Inputs, scratch: str) -> int:
    r = random.Random(seed)
    codes: collections.Counter[int] = collections.Counter()
    crashes = 0
    for i in range(iterations):
        work = tempfile.mkdtemp(prefix=f"{kind}-", dir=scratch)
        made = command(kind, r, work, good)
        if made is None:
            shutil.rmtree(work)
            continue
        args, env = made
        env = {"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "LBAUDIT_CONFIG": "", **env}
        try:
            run = run_cli(*args, cwd=work, env=env, timeout=60)
            code, err = run.returncode, run.stderr
        except BaseException:  # a hang (tests.cli.Hang) or an exception run() let out
            code, err = -1, traceback.format_exc()
        codes[code] += 1
        if code not in (0, 1, 2, 3, 10, 11, 12) or "Traceback" in err or (code == 2 and not err.strip()):
            crashes += 1
            where = re.findall(r'File "([^"]+)", line (\d+)', err)[-1:]
            print(f"CRASH {kind} seed={seed} i={i} exit={code} work={work} at={where}\n  args={args}\n{err[-1500:]}\n",
                  flush=True)
        else:
            shutil.rmtree(work)
    print(f"{kind}: {iterations} runs, {crashes} crashes, exit codes {dict(sorted(codes.items()))}", flush=True)
    return crashes


def main() -> int:
    kind = sys.argv[1] if len(sys.argv) > 1 else "all"
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else random.randrange(2**32)
    scratch = tempfile.mkdtemp(prefix="lbaudit-fuzz-")
    os.makedirs(f"{scratch}/base")
    good = Inputs(f"{scratch}/base")
    crashes = sum(hunt(k, iterations, seed, good, scratch) for k in (KINDS if kind == "all" else [kind]))
    if not crashes:
        shutil.rmtree(scratch)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
