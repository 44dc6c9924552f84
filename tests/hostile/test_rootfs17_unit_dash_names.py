"""Unit names of many dashes do not hold the socket units' collection.

Before: a unit takes the drop-ins of each of its dash prefixes (``a-b-c.socket``: ``a-b-.socket.d``,
``a-.socket.d``), and lbaudit made that list by recursing into the first prefix, which computed
every prefix again, at each level, for each of the ten unit directories and for each alias of the
unit.  An image whose one enabled socket had 100 aliases (links in the unit directory, which
systemd takes as other names of the unit) named with 100 dashes each held ``collect --root`` for
318 s here.  Now each name's list is made once, so the same image is collected in under a second,
and its listener is still found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli import REPO

COLLECT = """
import json, sys
from pathlib import Path
from auditor.collect.rootdir import collect_root
snap = collect_root(Path(sys.argv[1]), frozenset({"sockets"}))
print(json.dumps([listener.port for listener in snap.facts.sockets.listeners]))
"""


def test_aliases_of_many_dashes_are_collected_in_seconds(tmp_path: Path) -> None:
    units = tmp_path / "image/usr/lib/systemd/system"
    units.mkdir(parents=True)
    wants = tmp_path / "image/etc/systemd/system/sockets.target.wants"
    wants.mkdir(parents=True)
    (units / "x.socket").write_text("[Socket]\nListenStream=127.0.0.1:8080\n[Install]\nWantedBy=sockets.target\n")
    os.symlink("/usr/lib/systemd/system/x.socket", wants / "x.socket")
    for number in range(100):
        os.symlink("x.socket", units / ("-".join(["a"] * 100) + f"-{number}.socket"))
    run = subprocess.run([sys.executable, "-c", COLLECT, str(tmp_path / "image")], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})  # before: 318 s
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [8080]
