"""Hostile sweep (issue 8): every command x every hostile input under `timeout 10`.

Flags exit 70, a hang (killed), a traceback, or any file created/changed/removed outside the
outputs the run names.  Not a test (its findings became tests/hostile/test_sweep.py); rerun after
changes:  PYTHONPATH=$PWD python scripts/hostile_sweep.py [substring of a case name]
"""

import concurrent.futures as cf
import os
import shutil
import stat
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
BASE = tempfile.mkdtemp(prefix="lbaudit-sweep-")


def lbaudit(*args):
    return subprocess.run(
        [PY, "-m", "auditor.cli", *args],
        cwd=BASE,
        env=dict(os.environ, PYTHONPATH=REPO),
        capture_output=True,
        check=False,
    )


def make_base():
    """A policy, a signed snapshot of this host, its signed evidence and PDF, a key pair."""
    shutil.copy(f"{REPO}/policies/corp.yaml", f"{BASE}/policy.yaml")
    lbaudit("keygen", "--out", "keys")
    lbaudit("collect", "-o", "snap.json", "--sign-key", "keys/lbaudit.key", "-q")
    lbaudit(
        "evaluate",
        "--policy",
        "policy.yaml",
        "--snapshot",
        "snap.json",
        "-o",
        "ev.json",
        "--sign-key",
        "keys/lbaudit.key",
        "--pdf",
        "ev.pdf",
        "-q",
    )


def mk_hostile(d):
    h = os.path.join(d, "h")
    os.makedirs(h)
    os.mkfifo(f"{h}/fifo")
    os.symlink("/dev/zero", f"{h}/zero")
    os.mkdir(f"{h}/dir")
    os.symlink(f"{h}/nowhere", f"{h}/dangling")
    os.symlink(f"{h}/loop2", f"{h}/loop1")
    os.symlink(f"{h}/loop1", f"{h}/loop2")
    open(f"{h}/empty", "w").close()
    with open(f"{h}/huge", "wb") as f:
        f.truncate(300 * 1024 * 1024)
    open(f"{h}/nonutf8", "wb").write(b"\xff\xfe\x80abc\n: \xc3\x28\n")
    open(f"{h}/nul", "wb").write(b"id: x\x00\nversion: 1\n")
    open(f"{h}/bomjson", "wb").write(b"\xef\xbb\xbf" + open(f"{d}/ev.json", "rb").read())
    open(f"{h}/bompolicy", "wb").write(b"\xef\xbb\xbf" + open(f"{d}/policy.yaml", "rb").read())
    open(f"{h}/crlfpolicy", "wb").write(open(f"{d}/policy.yaml", "rb").read().replace(b"\n", b"\r\n"))
    for name, txt in {
        "ext_zero": "extends: /dev/zero\n",
        "ext_fifo": f"extends: {h}/fifo\n",
        "ext_self": f"extends: {h}/ext_self.yaml\n",
        "ext_dir": f"extends: {h}/dir\n",
        "ext_url": "extends: https://evil.example/p.yaml\n",
        "ext_shadow": "extends: ../../etc/shadow\n",
        "ext_loop": f"extends: {h}/loop1\n",
        "ext_empty": "extends: ''\n",
        "ext_list": "extends: [a, b]\n",
    }.items():
        pol = open(f"{d}/policy.yaml").read()
        open(f"{h}/{name}.yaml", "w").write(txt + pol)
    return h


KINDS = ["fifo", "zero", "dir", "dangling", "loop1", "empty", "huge", "nonutf8", "nul"]


def runs():
    # (name, argv builder given hostile path X, named outputs)
    R = []
    # Real files of another kind, given to every path option (a snapshot where evidence is
    # expected, a .sig as a key, a public key as a private one, a PDF as evidence, ...).
    wrong = {
        f"file {name}": name
        for name in (
            "snap.json",
            "ev.json",
            "ev.json.sig",
            "keys/lbaudit.pub",
            "keys/lbaudit.key",
            "ev.pdf",
            "policy.yaml",
            "h/bomjson",
        )
    }
    ins = {k: f"h/{k}" for k in KINDS}
    allin = dict(ins, **wrong)
    for k, x in allin.items():
        R.append(
            (
                f"evaluate --policy {k}",
                ["evaluate", "--policy", x, "--snapshot", "snap.json", "-o", "out/e.json"],
                ["out"],
            )
        )
        R.append(
            (
                f"evaluate --snapshot {k}",
                ["evaluate", "--policy", "policy.yaml", "--snapshot", x, "-o", "out/e.json"],
                ["out"],
            )
        )
        R.append(
            (
                f"evaluate --snapshot-pubkey {k}",
                [
                    "evaluate",
                    "--policy",
                    "policy.yaml",
                    "--snapshot",
                    "snap.json",
                    "--snapshot-pubkey",
                    x,
                    "-o",
                    "out/e.json",
                ],
                ["out"],
            )
        )
        R.append(
            (f"evaluate --root {k}", ["evaluate", "--policy", "policy.yaml", "--root", x, "-o", "out/e.json"], ["out"])
        )
        R.append(
            (
                f"evaluate --sign-key {k}",
                ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "--sign-key", x, "-o", "out/e.json"],
                ["out"],
            )
        )
        R.append(
            (
                f"evaluate --pdf-cert {k}",
                [
                    "evaluate",
                    "--policy",
                    "policy.yaml",
                    "--snapshot",
                    "snap.json",
                    "--pdf",
                    "out/e.pdf",
                    "--pdf-cert",
                    x,
                    "--pdf-cert-key",
                    "keys/lbaudit.key",
                    "-o",
                    "out/e.json",
                ],
                ["out"],
            )
        )
        R.append((f"collect --root {k}", ["collect", "--root", x, "-o", "out/s.json"], ["out"]))
        R.append((f"collect --sign-key {k}", ["collect", "--root", "/", "--sign-key", x, "-o", "out/s.json"], ["out"]))
        R.append(
            (f"report ev {k}", ["report", x, "--format", "json,oscal,sarif,junit,text", "--out-dir", "out"], ["out"])
        )
        R.append((f"verify ev {k}", ["verify", x, "--pubkey", "keys/lbaudit.pub"], []))
        R.append((f"verify pubkey {k}", ["verify", "ev.json", "--pubkey", x], []))
        R.append((f"verify pdf {k}", ["verify", "ev.json", "--pubkey", "keys/lbaudit.pub", "--pdf", x], []))
        R.append((f"coverage --policy {k}", ["coverage", "--policy", x, "--baseline", "moderate"], []))
        R.append(
            (
                f"coverage --catalog {k}",
                ["coverage", "--policy", "policy.yaml", "--baseline", "moderate", "--catalog", x],
                [],
            )
        )
        R.append((f"diff a {k}", ["diff", x, "ev.json"], []))
        R.append((f"diff b {k} --json", ["diff", "ev.json", x, "--json"], []))
        R.append((f"validate {k}", ["validate", x, "policy.yaml"], []))
    for n in [
        "ext_zero",
        "ext_fifo",
        "ext_self",
        "ext_dir",
        "ext_url",
        "ext_shadow",
        "ext_loop",
        "ext_empty",
        "ext_list",
        "bompolicy",
        "crlfpolicy",
    ]:
        R.append(
            (
                f"evaluate policy {n}",
                ["evaluate", "--policy", f"h/{n}.yaml", "--snapshot", "snap.json", "-o", "out/e.json"],
                ["out"],
            )
        )
        R.append((f"validate {n}", ["validate", f"h/{n}.yaml"], []))
        R.append((f"coverage {n}", ["coverage", "--policy", f"h/{n}.yaml", "--baseline", "low"], []))
    # output targets
    for k in ["fifo", "dir", "dangling", "loop1", "zero"]:
        x = f"h/{k}"
        R.append(
            (
                f"evaluate -o {k}",
                ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", x],
                [x, x + ".sig"],
            )
        )
        R.append(
            (
                f"evaluate --pdf {k}",
                ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "out/e.json", "--pdf", x],
                ["out", x],
            )
        )
        R.append(
            (
                f"evaluate --out-dir {k}",
                [
                    "evaluate",
                    "--policy",
                    "policy.yaml",
                    "--snapshot",
                    "snap.json",
                    "-o",
                    "out/e.json",
                    "--format",
                    "oscal,sarif,junit,text,pdf",
                    "--out-dir",
                    x,
                ],
                ["out", x],
            )
        )
        R.append((f"collect -o {k}", ["collect", "--root", "/", "-o", x], [x, x + ".sig"]))
        R.append((f"report --out-dir {k}", ["report", "ev.json", "--format", "oscal,sarif", "--out-dir", x], [x]))
        R.append((f"report --pdf {k}", ["report", "ev.json", "--pdf", x], [x]))
        R.append((f"keygen --out {k}", ["keygen", "--out", x], [x]))
        R.append((f"keygen --out {k} --force", ["keygen", "--out", x, "--force"], [x]))
    # output over existing inputs
    R.append(
        (
            "evaluate -o policy.yaml",
            ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "policy.yaml"],
            [],
        )
    )
    R.append(
        (
            "evaluate -o snap.json",
            ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "snap.json"],
            [],
        )
    )
    R.append(
        (
            "evaluate --pdf=policy",
            [
                "evaluate",
                "--policy",
                "policy.yaml",
                "--snapshot",
                "snap.json",
                "-o",
                "out/e.json",
                "--pdf",
                "policy.yaml",
            ],
            ["out"],
        )
    )
    R.append(
        (
            "evaluate -o == --pdf",
            ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "out/x", "--pdf", "out/x"],
            ["out"],
        )
    )
    R.append(("report --out-dir . evidence beside", ["report", "ev.json", "--format", "json"], ["ev.json"]))
    R.append(
        (
            "collect -o snap.json.sig",
            ["collect", "--root", "/", "-o", "ev.json.sig", "--sign-key", "keys/lbaudit.key"],
            [],
        )
    )
    R.append(("collect -o key", ["collect", "--root", "/", "-o", "keys/lbaudit.key"], []))
    R.append(("keygen --out keys", ["keygen", "--out", "keys"], []))
    R.append(("keygen --name ../x", ["keygen", "--out", "kk", "--name", "../x"], ["kk"]))
    R.append(("keygen --name empty", ["keygen", "--out", "kk", "--name", ""], ["kk"]))
    R.append(("keygen --name nl", ["keygen", "--out", "kk", "--name", "a\nb"], ["kk"]))
    R.append(("keygen --name /abs", ["keygen", "--out", "kk", "--name", "/tmp/sweep_abs"], ["kk"]))
    # option values
    for v in ["", "-", "x" * 5000, "a\nb", "json,,", "pdf", "bogus", "JSON"]:
        R.append(
            (
                f"evaluate --format {v[:10]!r}",
                [
                    "evaluate",
                    "--policy",
                    "policy.yaml",
                    "--snapshot",
                    "snap.json",
                    "-o",
                    "out/e.json",
                    "--format",
                    v,
                    "--out-dir",
                    "out",
                ],
                ["out"],
            )
        )
        R.append((f"report --format {v[:10]!r}", ["report", "ev.json", "--format", v, "--out-dir", "out"], ["out"]))
    for v in ["", "-", "x" * 5000, "a\nb", "../../etc/passwd", "../x", "\x01"]:
        R.append((f"explain {v[:10]!r}", ["explain", v], []))
        R.append(
            (
                f"evaluate -o {v[:10]!r}",
                ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", v],
                [v, v + ".sig"] if v else [],
            )
        )
        R.append(
            (
                f"evaluate --policy {v[:10]!r}",
                ["evaluate", "--policy", v, "--snapshot", "snap.json", "-o", "out/e.json"],
                ["out"],
            )
        )
        R.append(
            (
                f"evaluate --assessor {v[:10]!r}",
                [
                    "evaluate",
                    "--policy",
                    "policy.yaml",
                    "--snapshot",
                    "snap.json",
                    "-o",
                    "out/e.json",
                    "--assessor",
                    v,
                    "--pdf",
                    "out/e.pdf",
                    "--format",
                    "oscal,text",
                ],
                ["out"],
            )
        )
        R.append((f"schema {v[:10]!r}", ["schema", v], []))
    for s in ["policy", "evidence", "snapshot"]:
        R.append((f"schema {s}", ["schema", s], []))
    R.append(("list-checks", ["list-checks"], []))
    R.append(("list-checks --json", ["list-checks", "--json"], []))
    R.append(("explain net.bind_addresses", ["explain", "net.bind_addresses"], []))
    R.append(("diff ev ev", ["diff", "ev.json", "ev.json"], []))
    R.append(("diff snap snap", ["diff", "snap.json", "snap.json"], []))
    R.append(
        (
            "evaluate live",
            [
                "evaluate",
                "--policy",
                "policy.yaml",
                "-o",
                "out/e.json",
                "--format",
                "json,oscal,sarif,junit,text,pdf",
                "--out-dir",
                "out",
                "--record-cmdline",
            ],
            ["out"],
        )
    )
    R.append(
        (
            "evaluate --fail-on bogus",
            [
                "evaluate",
                "--policy",
                "policy.yaml",
                "--snapshot",
                "snap.json",
                "--fail-on",
                "bogus",
                "-o",
                "out/e.json",
            ],
            ["out"],
        )
    )
    for f in os.listdir(f"{REPO}/tests/fixtures/roots"):
        R.append(
            (
                f"evaluate --root fixture {f}",
                [
                    "evaluate",
                    "--policy",
                    "policy.yaml",
                    "--root",
                    f"{REPO}/tests/fixtures/roots/{f}",
                    "-o",
                    "out/e.json",
                    "--format",
                    "json,oscal,sarif,junit,text,pdf",
                    "--out-dir",
                    "out",
                ],
                ["out"],
            )
        )
    return R


def listing(d):
    out = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            st = os.lstat(p)
            out[os.path.relpath(p, d)] = (st.st_ino, st.st_size, st.st_mtime_ns, stat.S_IFMT(st.st_mode))
    return out


def one(i, item, env_extra=None, cwd_mode=None):
    name, argv, outs = item
    d = f"{BASE}/run/{i}"
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for f in ["policy.yaml", "snap.json", "snap.json.sig", "ev.json", "ev.json.sig", "ev.pdf"]:
        shutil.copy2(f"{BASE}/{f}", d)
    shutil.copytree(f"{BASE}/keys", f"{d}/keys")
    mk_hostile(d)
    before = listing(d)
    env = dict(os.environ, PYTHONPATH=REPO)
    if env_extra:
        env.update(env_extra)
    try:
        p = subprocess.run(
            ["timeout", "-s", "KILL", "10", PY, "-m", "auditor.cli", *argv],
            cwd=d,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
        )
        rc, out = p.returncode, p.stdout + p.stderr
    except Exception as e:
        rc, out = -1, repr(e)
    after = listing(d)

    def named(k):
        return any(k == o or k.startswith(o.rstrip("/") + "/") for o in outs)

    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) and not named(k))
    flags = []
    if rc in (70, 124, 137, -9):
        flags.append(f"rc={rc}")
    if "Traceback" in out:
        flags.append("traceback")
    if changed:
        flags.append(f"touched={changed[:5]}")
    shutil.rmtree(d, ignore_errors=True)
    return name, rc, flags, out[-600:]


if __name__ == "__main__":
    make_base()
    R = runs()
    sel = sys.argv[1] if len(sys.argv) > 1 else ""
    R = [r for r in R if sel in r[0]]
    res = []
    with cf.ThreadPoolExecutor(3) as ex:
        for name, rc, flags, out in ex.map(lambda a: one(*a), enumerate(R)):
            res.append((name, rc, flags))
            mark = "!!" if flags else "  "
            print(
                f"{mark} rc={rc:3} {name}  {' '.join(flags)}"
                + (("\n      " + out.replace("\n", "\n      ")) if flags else ""),
                flush=True,
            )
    shutil.rmtree(BASE, ignore_errors=True)
    flagged = [r for r in res if r[2]]
    print(f"{len(res)} runs, {len(flagged)} flagged")
    sys.exit(1 if flagged else 0)
