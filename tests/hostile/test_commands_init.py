"""``lbaudit init -o``: what the starter policy is written over.

Before: ``init -o -`` wrote a file called ``-`` in the current directory and said "policy: -",
where every other ``-o -`` of lbaudit means standard output.  An existing file, also one a
symlink points to, and a dangling symlink's target are never written."""

from __future__ import annotations

import os

from tests.cli import run_cli

ENV = {"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "LBAUDIT_CONFIG": ""}


def test_dash_is_refused_and_writes_no_file_called_dash(tmp_path):
    run = run_cli("init", "-o", "-", cwd=tmp_path, env=ENV)
    assert run.returncode == 2, run.stderr
    assert run.stderr.endswith("Error: -o -: init writes a policy file and validates it, not standard output; give "
                               "a file name (a file called - by its absolute path)\n")
    assert run.stdout == ""
    assert os.listdir(tmp_path) == []


def test_a_file_called_dash_by_its_absolute_path_is_written(tmp_path):
    run = run_cli("init", "-o", tmp_path / "-", cwd=tmp_path, env=ENV)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"policy: {tmp_path / '-'} (0 listener exceptions")
    assert (tmp_path / "-").read_text().splitlines()[4] == "id: starter"


def test_a_symlink_to_an_existing_file_is_not_written_through(tmp_path):
    kept = tmp_path / "corp.yaml"
    kept.write_text("id: corp\n")
    (tmp_path / "link.yaml").symlink_to(kept)
    run = run_cli("init", "-o", "link.yaml", cwd=tmp_path, env=ENV)
    assert run.returncode == 2
    assert run.stderr == "lbaudit: link.yaml: already exists; refusing to overwrite it (choose another --output)\n"
    assert kept.read_text() == "id: corp\n"


def test_a_dangling_symlink_is_not_followed(tmp_path):
    (tmp_path / "link.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    run = run_cli("init", "-o", "link.yaml", cwd=tmp_path, env=ENV)
    assert run.returncode == 2
    assert run.stderr == "lbaudit: link.yaml: already exists; refusing to overwrite it (choose another --output)\n"
    assert sorted(os.listdir(tmp_path)) == ["link.yaml"]


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    run = run_cli("init", "-o", "fifo", cwd=tmp_path, env=ENV, timeout=20)
    assert run.returncode == 2
    assert run.stderr == ("lbaudit: fifo: cannot write policy: it is a FIFO, not a regular file (lbaudit replaces only "
                          "regular files)\n")
