"""A ``connect_timeout`` of 0 or less in a PostgreSQL --store URL no longer makes a command wait for
ever on a server that takes the connection and never answers.

The URL's own ``connect_timeout`` replaces LBAUDIT_STORE_TIMEOUT for the connection (README,
"history store"), and libpq reads 0 or less (``0``, ``-1``, ``00``, `` 0``) as no limit: the
deadline of auditor.history.deadline starts only once the connection is made, so ``history list``
(and a nightly ``evaluate --record``) against a silent listener hung until killed.  Now such a
value is refused before any connection, exit 2, saying why; a positive one still bounds the
connection as documented.

The peer is a real TCP listener on loopback that accepts and never says a word; each run is a real
process, killed (and the test failed) if it is still going after OUTER seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.test_hangs_store_peer import STORE_TIMEOUT, FakePeer
from tests.hostile.test_hangs_store_peer import lbaudit as run_with_limit

pytestmark = pytest.mark.slow  # a real process per case

USAGE = 2
OUTER = 30  # seconds: a run still going then is the hang this file is about


@pytest.fixture
def silent_peer(request: pytest.FixtureRequest) -> FakePeer:
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (pip install 'lbaudit[postgres]')")
    peer = FakePeer(lambda conn: None)
    request.addfinalizer(peer.close)
    return peer


def lbaudit(args: list[object], cwd: Path) -> tuple[int, str, float]:
    return run_with_limit(args, cwd, outer=OUTER)


@pytest.mark.parametrize("query, shown", [("0", "0"), ("-1", "-1"), ("00", "00"), ("%200", " 0")])
def test_a_url_connect_timeout_that_means_no_limit_is_exit_2_before_connecting(tmp_path, silent_peer, query, shown):
    url = f"{silent_peer.url()}?connect_timeout={query}"
    code, err, took = lbaudit(["history", "list", "--store", url], tmp_path)
    assert code == USAGE, err
    assert f"connect_timeout={shown} in the URL: libpq would wait for the server for ever; give a number of " \
           "seconds (2 or more), or leave it out for LBAUDIT_STORE_TIMEOUT\n" in err, err
    assert not silent_peer.accepted  # refused before any connection was tried
    assert took < OUTER


def test_a_positive_url_connect_timeout_still_bounds_the_connection(tmp_path, silent_peer):
    # the documented override: the URL's 3 s, not LBAUDIT_STORE_TIMEOUT's 2 s
    code, err, took = lbaudit(["history", "list", "--store", f"{silent_peer.url()}?connect_timeout=3"], tmp_path)
    assert code == USAGE, err
    assert "did not complete the connection within 3 s (connect_timeout in the URL)" in err, err
    assert silent_peer.accepted and STORE_TIMEOUT + 0.5 <= took < OUTER


@pytest.mark.parametrize("query, shown", [("0.5", "0.5"), ("1e-3", "1e-3"), ("-0.9", "-0.9"), ("2.5", "2.5"),
                                          ("abc", "abc")])
def test_a_url_connect_timeout_that_is_no_whole_number_is_exit_2_before_connecting(tmp_path, silent_peer, query,
                                                                                  shown):
    # psycopg reads connect_timeout as int(float(value)): 0.5 is 0, which it takes for "no limit" and
    # replaces with its own 130 s, so a server that never answered held history list 130 s (and said
    # "within 0.5 s"); libpq takes a whole number of seconds alone
    url = f"{silent_peer.url()}?connect_timeout={query}"
    code, err, took = lbaudit(["history", "list", "--store", url], tmp_path)
    assert code == USAGE, err
    assert err == (f"lbaudit: {url}: connect_timeout={shown} in the URL is not a whole number of seconds (libpq's "
                   "form): give a number of seconds (2 or more), or leave it out for LBAUDIT_STORE_TIMEOUT\n"), err
    assert not silent_peer.accepted  # refused before any connection was tried
    assert took < OUTER
