"""The Ansible collection ``lbaudit.compliance`` (ansible/): it builds with ``ansible-galaxy
collection build`` and passes ``ansible-test sanity`` (in a copy laid out as
``ansible_collections/lbaudit/compliance``, as ansible-test requires).

ansible-test installs each sanity test's pinned requirements into a venv of its own, from the
package index; it bootstraps pip into those venvs with a script it downloads from
ci-files.testing.ansible.com, which this machine cannot reach, so the test gives it the
interpreter's own ``ensurepip`` in that script's place (its cache, in a temporary HOME).
Skipped with the reason when ansible-core is not installed (under CI=true it must run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.cli import REPO

pytestmark = pytest.mark.integration  # ansible-galaxy, ansible-test (a venv per sanity test), ansible

BIN = Path(sys.executable).parent
GET_PIP_STANDIN = "import ensurepip\nensurepip.bootstrap(upgrade=True)\n"


def _tool(name: str) -> str:
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    if path is None:
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"CI=true: {name} must be installed (the test extra pins ansible-core)")
        pytest.skip(f"{name} is not installed (pip install 'ansible-core>=2.16,<2.20', the test extra)")
    return str(path)


def test_collection_builds_with_its_module_roles_and_playbook(tmp_path: Path):
    done = subprocess.run([_tool("ansible-galaxy"), "collection", "build", str(REPO / "ansible"), "--output-path",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (tarball,) = tmp_path.glob("lbaudit-compliance-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    assert {"plugins/modules/lbaudit_collect.py", "roles/install/tasks/main.yml", "roles/scan/tasks/main.yml",
            "roles/schedule/tasks/main.yml", "playbooks/scan.yml", "meta/runtime.yml", "MANIFEST.json"} <= names


@pytest.mark.parametrize("tests", [
    # no requirements of their own
    ["action-plugin-docs", "compile", "empty-init", "ignores", "line-endings", "no-assert", "no-get-exception",
     "no-illegal-filenames", "no-smart-quotes", "replace-urlopen", "runtime-metadata", "shebang", "symlinks",
     "use-argspec-type-path", "use-compat-six"],
    # a venv each, with requirements from the package index (pylint too: about 4 minutes on the 2-CPU VM)
    ["validate-modules", "ansible-doc", "yamllint", "import", "pep8", "pylint"],
], ids=["offline", "with-requirements"])
def test_ansible_test_sanity(tmp_path: Path, tests: list[str]):
    ansible_test = _tool("ansible-test")
    tree = tmp_path / "ansible_collections" / "lbaudit" / "compliance"
    shutil.copytree(REPO / "ansible", tree)
    home = tmp_path / "home"
    (home / ".ansible" / "test" / "cache").mkdir(parents=True)
    for version in ("24_2", "24_0", "23_1"):
        (home / ".ansible" / "test" / "cache" / f"get_pip_{version}.py").write_text(GET_PIP_STANDIN)
    env = {**os.environ, "HOME": str(home), "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    argv = [ansible_test, "sanity", "--local", "--python", f"{sys.version_info.major}.{sys.version_info.minor}"]
    for name in tests:
        argv += ["--test", name]
    done = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, timeout=1200)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    for name in tests:
        assert f'Running sanity test "{name}"' in output or f"sanity test \"{name}\"" in output, output[-3000:]


@pytest.mark.live
@pytest.mark.parametrize("method", ["api", "command"])
def test_collect_module_changes_nothing_and_supports_check_mode(tmp_path: Path, method: str):
    """``lbaudit_collect`` through ``ansible -m`` on this host: the Python API when lbaudit is
    importable by the module's interpreter, else the ``lbaudit`` command; check mode writes nothing."""
    import hashlib
    import json

    galaxy = _tool("ansible-galaxy")
    assert subprocess.run([galaxy, "collection", "build", str(REPO / "ansible"), "--output-path", str(tmp_path)],
                          capture_output=True, timeout=300).returncode == 0
    (tarball,) = tmp_path.glob("lbaudit-compliance-*.tar.gz")
    assert subprocess.run([galaxy, "collection", "install", str(tarball), "-p", str(tmp_path / "collections")],
                          capture_output=True, timeout=300).returncode == 0
    wrapper = tmp_path / "lbaudit"  # the command, for the module's interpreter that cannot import lbaudit
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m auditor.cli \"$@\"\n")
    wrapper.chmod(0o755)
    interpreter = sys.executable if method == "api" else "/usr/bin/python3"
    if not os.access(interpreter, os.X_OK):
        pytest.skip(f"{interpreter} is not there")
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "collections"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "PYTHONPATH": str(REPO) if method == "api" else ""}
    output = tmp_path / "host.snapshot.json"

    def collect(*extra: str) -> dict:
        done = subprocess.run([_tool("ansible"), "localhost", "-c", "local", "-m", "lbaudit.compliance.lbaudit_collect",
                               "-a", f"output={output} executable={wrapper}", "-e",
                               f"ansible_python_interpreter={interpreter}", *extra],
                              capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        # ad-hoc output: "localhost | SUCCESS => {...}"
        head, _, body = done.stdout.partition("=>")
        assert "SUCCESS" in head, done.stdout[-3000:]
        return json.loads(body)

    checked = collect("--check")
    assert checked["changed"] is False and checked["written"] is False and checked["method"] == method
    assert not output.exists()
    result = collect()
    assert result["changed"] is False and result["written"] is True and result["method"] == method
    assert result["sha256"] == hashlib.sha256(output.read_bytes()).hexdigest()
    snapshot = json.loads(output.read_text())
    assert result["collector_version"] == snapshot["provenance"]["tool_version"]
    assert result["gaps"] == [{"section": g["section"], "field": g.get("field", ""), "kind": g["kind"],
                               "reason": g["reason"]} for g in snapshot.get("gaps", [])]
