"""Debian's headless Chromium for the HTML report tests: load a local file, dump its DOM after the
page's script ran, or take a screenshot.

Chromium runs as root here, so without its sandbox (``--no-sandbox``), with a new profile directory
per run, and with every background service that would go to the network switched off; the host
resolver maps every name to nowhere, so even a page that tried to load something could not.  When
Chromium is not installed the test is skipped with the reason, except under CI=true, where the
browser test must really run (scripts/bootstrap --test installs the ``chromium`` package).
"""

from __future__ import annotations

import os
import shutil
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
        run = subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args, url],
                             capture_output=True, text=True, timeout=TIMEOUT)
        seconds = time.monotonic() - started
    assert run.returncode == 0, run.stderr[-2000:]
    return Load(run.stdout, seconds)


def dump_dom(page: Path, fragment: str = "") -> Load:
    """The DOM of ``page`` once its scripts ran (``#fragment`` appended to its file: URL)."""
    return _run(page.resolve().as_uri() + fragment, "--dump-dom")


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2400, fragment: str = "") -> Load:
    load = _run(page.resolve().as_uri() + fragment, f"--screenshot={png}", f"--window-size={width},{height}")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "Chromium wrote no PNG"
    return load
