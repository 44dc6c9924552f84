"""The headless Chromium the HTML report tests drive is stopped whole when it hangs.

The defect: ``tests/browser.py`` ran Chromium with ``subprocess.run(..., timeout=TIMEOUT)``, which on
timeout kills only the process it started.  Chromium's helpers (zygote, renderer, GPU process) and
anything else the browser started stayed running after the test failed, holding the profile
directory that was being deleted, and the failure was a bare ``TimeoutExpired`` traceback rather
than a sentence saying which page Chromium did not finish loading.  Now the browser runs in a
session of its own, the whole process group is killed on timeout (and after every run, so no helper
outlives it), and the test fails with the page, the time limit and the browser's last output.

A stand-in browser (a real executable on PATH, not a mock of the code under test) plays a Chromium
that never finishes and leaves a helper behind.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests import browser


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes: reaped by init soon
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.mark.integration  # starts a (stand-in) browser and waits out its 2 s time limit
def test_a_hanging_browser_and_its_helpers_are_killed_with_a_clear_failure(tmp_path: Path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper_pid = tmp_path / "helper.pid"
    fake = bin_dir / "chromium"
    fake.write_text("#!/bin/sh\n"
                    f"sleep 300 & echo $! > {helper_pid}\n"
                    "echo 'loading...' >&2\n"
                    "exec sleep 300\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr(browser, "TIMEOUT", 2)
    page = tmp_path / "page.html"
    page.write_text("<!doctype html><title>x</title>")

    started = time.monotonic()
    with pytest.raises(pytest.fail.Exception) as failed:
        browser.dump_dom(page)
    assert time.monotonic() - started < 30
    message = str(failed.value)
    assert "did not finish" in message and "2 s" in message and str(page.resolve()) in message, message
    pid = int(helper_pid.read_text())
    for _ in range(50):
        if not _alive(pid):
            break
        time.sleep(0.1)
    try:
        assert not _alive(pid), "the browser's helper process was left running"
    finally:
        if _alive(pid):
            os.kill(pid, 9)
