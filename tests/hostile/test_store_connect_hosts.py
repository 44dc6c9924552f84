"""Connecting to a PostgreSQL store is bounded as a whole: every host of a multi-host URL, every
address a host name resolves to, and resolving those names, within the one connection limit
(LBAUDIT_STORE_TIMEOUT, or the URL's connect_timeout), as the README says.

The defects: psycopg gives each connection attempt (each host of ``?host=a&host=b``, each address of
a name) the whole ``connect_timeout``, so a URL of eight hosts that never answer held ``history list``
eight times the limit it then named ("did not complete the connection within 2 s" after 16 s; a
nightly scan with the default 30 s and a list of standbys, minutes).  And it resolves the host names
before any limit starts (``getaddrinfo``, blocking): a name server that does not answer held the
command for as long as the resolver's own retries last (``options timeout:30 attempts:5``: 150 s and
more), with no limit of lbaudit's at all.

Now the names are resolved and the attempts made under one deadline: each attempt gets its share of
what is left (at least libpq's least 2 s, none begun with less than that left), so a host that does
not answer still leaves time to fail over to the next one (the control case), and the command ends
within the limit, exit 2, naming it.

The peers are real TCP listeners on loopback that accept and never say a word; the name server is a
real UDP socket that reads every question and never answers, in a network and mount namespace of the
test's own (``unshare``, with a PID namespace whose every process ends with it), where
/etc/resolv.conf names it.  Each run is a real process, killed (and
the test failed) when it is still going after OUTER seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.cli import REPO
from tests.history.conftest import postgres_server  # noqa: F401  (the fixture: the real server behind the proxy)
from tests.hostile.test_hangs_store_peer import STORE_TIMEOUT, FakePeer, StallingProxy
from tests.hostile.test_hangs_store_peer import lbaudit as run_with_limit

pytestmark = pytest.mark.slow  # a real process per case, each waiting out its limit

USAGE = 2
OUTER = 60  # seconds: a run still going then is the hang this file is about
SLACK = 8  # seconds a run may take besides its limit (start-up and the error, on a loaded machine)


@pytest.fixture
def peers(request: pytest.FixtureRequest) -> list[FakePeer]:
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (pip install 'lbaudit[postgres]')")
    made = [FakePeer(lambda conn: None) for _ in range(8)]
    for peer in made:
        request.addfinalizer(peer.close)
    return made


def _hosts(ports: list[int]) -> str:
    return "&".join(f"host=127.0.0.1:{port}" for port in ports)


def test_eight_silent_hosts_end_within_the_one_limit(tmp_path, peers):
    url = f"postgresql+psycopg://u@/db?{_hosts([p.port for p in peers])}"
    code, err, took = run_with_limit(["history", "list", "--store", url], tmp_path, outer=OUTER)
    assert code == USAGE, err
    shown = "postgresql+psycopg://u@/db?" + _hosts([p.port for p in peers]).replace(":", "%3A")
    first, *others = peers
    assert err == (f"lbaudit: {shown}: cannot open the history store: no PostgreSQL server completed the connection "
                   f"within {STORE_TIMEOUT} s (LBAUDIT_STORE_TIMEOUT), 8 addresses of the URL tried in turn, each given "
                   f"its share: 127.0.0.1:{first.port} did not answer within its 2 s"
                   + "".join(f"; 127.0.0.1:{p.port} not tried (no time left)" for p in others) + "\n"), err
    assert took < STORE_TIMEOUT + SLACK, f"took {took:.1f} s for a limit of {STORE_TIMEOUT} s"
    assert first.accepted and not any(p.accepted for p in others)


def test_the_urls_connect_timeout_bounds_every_host_together(tmp_path, peers):
    url = f"postgresql+psycopg://u@/db?{_hosts([p.port for p in peers])}&connect_timeout=5"
    code, err, took = run_with_limit(["history", "list", "--store", url], tmp_path, outer=OUTER)
    assert code == USAGE, err
    assert "no PostgreSQL server completed the connection within 5 s (connect_timeout in the URL), 8 addresses of " \
           f"the URL tried in turn, each given its share: 127.0.0.1:{peers[0].port} did not answer within its 2 s; " \
           f"127.0.0.1:{peers[1].port} did not answer within its 2 s; 127.0.0.1:{peers[2].port} not tried (no time " \
           "left); " in err, err
    assert 4 - 0.5 <= took < 5 + SLACK, f"took {took:.1f} s for a limit of 5 s"
    assert peers[0].accepted and peers[1].accepted and not peers[2].accepted  # two shares of 2 s, 1 s left


def test_control_case_a_silent_first_host_still_fails_over_to_the_next(tmp_path, peers, request,
                                                                        postgres_server):  # noqa: F811
    database = postgres_server.create_database()
    proxy = StallingProxy(postgres_server.socket_dir / ".s.PGSQL.5432")  # passes everything but a COMMIT
    request.addfinalizer(proxy.close)
    # the empty database is a store of no run: exit 2 saying so, which only the server can say
    # 4 s: a share of 2 s for each host (the least libpq takes)
    url = f"postgresql+psycopg://lbaudit@/{database}?{_hosts([peers[0].port, proxy.port])}&connect_timeout=4"
    code, err, took = run_with_limit(["history", "list", "--store", url], tmp_path, outer=OUTER)
    assert code == USAGE, err
    assert "no history store here (the database is empty" in err, err
    assert peers[0].accepted and 2 <= took < 4 + SLACK


SILENT_NAME_SERVER = """
import socket, sys
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", 53))
tcp = socket.create_server(("127.0.0.1", 53))  # a resolver that falls back to TCP finds one as silent
print("ready", flush=True)
while True:
    server.recvfrom(4096)  # every question read, none answered
"""

IN_A_NAMESPACE = """
set -e
ip link set lo up
mount --bind "$1/resolv.conf" /etc/resolv.conf
mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf
"$2" "$1/dns.py" > "$1/dns.out" &
name_server=$!
for i in $(seq 50); do grep -q ready "$1/dns.out" && break; sleep 0.1; done
start=$(date +%s%N)
set +e
"$2" -m auditor.cli history list --store "$3" 2> "$1/stderr"
echo $? > "$1/code"
end=$(date +%s%N)
echo $(( (end - start) / 1000000 )) > "$1/took"
kill "$name_server"
"""


def test_a_name_server_that_never_answers_ends_within_the_limit(tmp_path):
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (pip install 'lbaudit[postgres]')")
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip", path="/usr/sbin:/sbin:/usr/bin:/bin") is None:
        pytest.skip("needs root, unshare(1) and ip(8): the name server is in a network namespace of its own")
    (tmp_path / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:30 attempts:5\n")
    (tmp_path / "nsswitch.conf").write_text("hosts: dns\n")
    (tmp_path / "dns.py").write_text(SILENT_NAME_SERVER)
    url = "postgresql+psycopg://u@db.store.example.test/db"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(REPO), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1",
           "LBAUDIT_CONFIG": "", "HOME": "/nonexistent", "LBAUDIT_STORE_TIMEOUT": str(STORE_TIMEOUT)}
    started = time.monotonic()
    try:
        done = subprocess.run(["unshare", "--net", "--mount", "--propagation", "private", "--pid", "--fork",
                               "--kill-child=SIGKILL", "sh", "-c", IN_A_NAMESPACE,
                               "sh", tmp_path, sys.executable, url], env=env, capture_output=True, text=True,
                              timeout=OUTER)
    except subprocess.TimeoutExpired:
        pytest.fail(f"history list still ran after {OUTER} s: it hangs on a name server that does not answer")
    assert done.returncode == 0, done.stderr
    err = (tmp_path / "stderr").read_text()
    assert (tmp_path / "code").read_text().strip() == str(USAGE), err
    assert err == (f"lbaudit: {url}: cannot open the history store: the PostgreSQL server's name did not resolve "
                   f"within {STORE_TIMEOUT} s (LBAUDIT_STORE_TIMEOUT): db.store.example.test\n"), err
    took = int((tmp_path / "took").read_text()) / 1000
    assert took < STORE_TIMEOUT + SLACK, f"took {took:.1f} s for a limit of {STORE_TIMEOUT} s"
    assert time.monotonic() - started < OUTER
