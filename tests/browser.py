"""Debian's headless Chromium for the HTML report tests: load a local file, dump its DOM after the
page's script ran, or take a screenshot.

Chromium runs as root here, so without its sandbox (``--no-sandbox``), with a new profile directory
per run, and with every background service that would go to the network switched off; the host
resolver maps every name to nowhere, so even a page that tried to load something could not.  The
browser runs in a session of its own and its whole process group is killed when it is done or after
TIMEOUT seconds (the test then fails saying which page did not finish): killing only the process
started left its zygote, renderer and GPU helpers running.  When
Chromium is not installed the test is skipped with the reason, except under CI=true, where the
browser test must really run (scripts/bootstrap --test installs the ``chromium`` package).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND")
TIMEOUT = 120


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def chromium() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    message = "Chromium is not installed (apt-get install chromium; scripts/bootstrap --test does)"
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class Load:
    output: str  # stdout: the DOM for dump_dom
    seconds: float  # wall time of the whole browser run


def _run(url: str, *args: str) -> Load:
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="lbaudit-chromium-") as profile:
        started = time.monotonic()
        process = subprocess.Popen([browser, *FLAGS, f"--user-data-dir={profile}", *args, url],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired as hung:
            _kill_group(process)
            said = hung.stderr.decode("utf-8", "replace") if isinstance(hung.stderr, bytes) else (hung.stderr or "")
            pytest.fail(f"Chromium did not finish loading {url} within {TIMEOUT} s; killed it and its helpers. "
                        f"Its last output: {said[-2000:]}", pytrace=False)
        finally:
            _kill_group(process)
        seconds = time.monotonic() - started
    assert process.returncode == 0, stderr[-2000:]
    return Load(stdout, seconds)


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Kill every process of the browser's session (it leads its own group), then reap the browser."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.kill()
    process.wait()
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def dump_dom(page: Path, fragment: str = "") -> Load:
    """The DOM of ``page`` once its scripts ran (``#fragment`` appended to its file: URL)."""
    return _run(page.resolve().as_uri() + fragment, "--dump-dom")


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2400, fragment: str = "") -> Load:
    load = _run(page.resolve().as_uri() + fragment, f"--screenshot={png}", f"--window-size={width},{height}")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "Chromium wrote no PNG"
    return load
