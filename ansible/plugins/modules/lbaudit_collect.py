#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lbaudit maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: lbaudit_collect
short_description: Collect an lbaudit snapshot (facts only) on the target
description:
  - Runs lbaudit's collector on the target and writes a snapshot file, to be fetched and evaluated
    on the controller with C(lbaudit fleet evaluate). The target never sees the policy or a signing key.
  - Uses lbaudit's Python API when lbaudit is importable by the module's interpreter (point
    C(ansible_python_interpreter) at the venv's python), else runs the C(lbaudit collect) command.
  - Collecting only reads the host, so the module never reports a change. In check mode the facts
    are collected but no file is written.
version_added: "0.1.0"
author:
  - lbaudit maintainers (@lbaudit)
options:
  output:
    description:
      - Snapshot file to write on the target (replaced atomically). Its directory must exist, be owned by
        the user collecting (or root), be writable by no one else and not be a symbolic link, else the module fails;
        another user could replace the snapshot there before it is fetched.
    type: path
    required: true
  executable:
    description:
      - The C(lbaudit) command to run when lbaudit is not importable by the module's interpreter.
    type: path
    default: lbaudit
  sections:
    description:
      - Fact sections to collect; all of them when empty.
    type: list
    elements: str
    default: []
  record_cmdline:
    description:
      - Record the arguments of listening processes (they may carry credentials).
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Collects, writes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
notes:
  - Run it as root (C(become)) to see every socket's owner and the audit rules; what cannot be seen
    is recorded as a gap and evaluated as not reviewed, never as a pass.
requirements:
  - lbaudit on the target (the C(lbaudit.compliance.install) role)
'''

EXAMPLES = r'''
- name: Collect this host's facts
  lbaudit.compliance.lbaudit_collect:
    output: /var/tmp/lbaudit/lbaudit.snapshot.json
  vars:
    ansible_python_interpreter: /opt/lbaudit/venv/bin/python
  become: true
  register: collected
'''

RETURN = r'''
snapshot:
  description: Path of the snapshot on the target (not written in check mode).
  returned: always
  type: str
  sample: /var/tmp/lbaudit/lbaudit.snapshot.json
sha256:
  description: SHA-256 of the snapshot file's bytes.
  returned: always
  type: str
written:
  description: Whether the snapshot file was written (false in check mode).
  returned: always
  type: bool
collector_version:
  description: The lbaudit version that collected the facts.
  returned: always
  type: str
  sample: 0.9.0
method:
  description: C(api) when lbaudit's Python API was used, C(command) when C(lbaudit collect) was run.
  returned: always
  type: str
hostname:
  description: The host name the snapshot records.
  returned: always
  type: str
gaps:
  description: What the collector could not see, and why.
  returned: always
  type: list
  elements: dict
  contains:
    section:
      description: Fact section.
      type: str
    field:
      description: Where in the section.
      type: str
    kind:
      description: C(unreadable) or C(not_applicable).
      type: str
    reason:
      description: Why.
      type: str
'''

import hashlib
import json
import os
import stat
import sys
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

try:
    from auditor import pipeline
    from auditor.collect.targets import LocalHost
    from auditor.errors import LbauditError
    from auditor.model.facts import SECTIONS
    from auditor.storage.snapshot import snapshot_bytes
    HAS_LBAUDIT = True
except ImportError:
    HAS_LBAUDIT = False


def shared_directory_problem(directory):
    """Why another user could replace a snapshot written in ``directory`` before it is fetched, or None.

    The default directory is under /var/tmp, where anyone may make it first: the role's chmod 0700
    leaves it theirs, and the owner of a directory (or anyone, where it is group- or world-writable)
    can rename another file over the snapshot between its collection and its fetch, a forged
    host's facts judged as the host's.  A symbolic link is refused too: its owner can point it
    elsewhere between the two tasks."""
    try:
        found = os.lstat(directory)
    except OSError as exc:
        return 'cannot be examined: %s' % to_native(exc.strerror or exc)
    if stat.S_ISLNK(found.st_mode):
        return ('the snapshot directory is a symbolic link: its owner could point it elsewhere before the '
                'snapshot is fetched (give the directory itself)')
    if found.st_uid not in (os.geteuid(), 0):  # root may replace any file anyway
        return ('the snapshot directory is owned by uid %d, not by the user collecting (uid %d): that user could '
                'replace the snapshot before it is fetched' % (found.st_uid, os.geteuid()))
    if found.st_mode & 0o022:
        return ('the snapshot directory can be written by users other than its owner (mode %04o): one of them '
                'could replace the snapshot before it is fetched' % stat.S_IMODE(found.st_mode))
    return None


def gaps_of(document):
    return [{'section': g.get('section'), 'field': g.get('field', ''), 'kind': g.get('kind'),
             'reason': g.get('reason')} for g in document.get('gaps', [])]


def collect_api(module, output, sections):
    try:
        snapshot = pipeline.acquire(LocalHost(), frozenset(sections or SECTIONS),
                                    record_cmdline=module.params['record_cmdline'])
        if module.check_mode:
            data = snapshot_bytes(snapshot)
        else:
            data = pipeline.write_snapshot(snapshot, output)
    except LbauditError as exc:
        module.fail_json(msg='lbaudit: %s' % exc.render())
    return data


def collect_command(module, output, sections):
    executable = module.params['executable']
    if not os.path.isabs(executable):
        executable = module.get_bin_path(executable, required=False)
    if not executable or not os.access(executable, os.X_OK):
        module.fail_json(msg='lbaudit is neither importable by %s nor runnable as %s: run the '
                             'lbaudit.compliance.install role first' % (sys.executable, module.params['executable']))
    target = output
    scratch = None
    if module.check_mode:
        scratch = tempfile.mkdtemp(prefix='lbaudit-check-')
        target = os.path.join(scratch, 'check.snapshot.json')
    argv = [executable, 'collect', '--output', target, '--quiet']
    for section in sections:
        argv += ['--section', section]
    if module.params['record_cmdline']:
        argv.append('--record-cmdline')
    try:
        rc, stdout, stderr = module.run_command(argv, check_rc=False)
        if rc != 0:
            module.fail_json(msg='lbaudit collect exited %d: %s' % (rc, stderr.strip()), rc=rc, stdout=stdout,
                             stderr=stderr)
        with open(target, 'rb') as handle:
            return handle.read()
    finally:
        if scratch is not None:
            for name in os.listdir(scratch):
                os.unlink(os.path.join(scratch, name))
            os.rmdir(scratch)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            output=dict(type='path', required=True),
            executable=dict(type='path', default='lbaudit'),
            sections=dict(type='list', elements='str', default=[]),
            record_cmdline=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    output = module.params['output']
    sections = module.params['sections']
    directory = os.path.dirname(output) or '.'
    if not os.path.isdir(directory):
        module.fail_json(msg='%s: the directory of the snapshot does not exist' % directory)
    problem = shared_directory_problem(directory)
    if problem:
        module.fail_json(msg='%s: %s' % (directory, problem))
    if HAS_LBAUDIT:
        method = 'api'
        data = collect_api(module, output, sections)
    else:
        method = 'command'
        data = collect_command(module, output, sections)
    try:
        document = json.loads(data.decode('utf-8'))
    except ValueError as exc:
        module.fail_json(msg='the snapshot is not JSON: %s' % to_native(exc))
    provenance = document.get('provenance', {})
    module.exit_json(
        changed=False,
        snapshot=output,
        written=not module.check_mode,
        sha256=hashlib.sha256(data).hexdigest(),
        collector_version=provenance.get('tool_version'),
        hostname=provenance.get('hostname'),
        method=method,
        gaps=gaps_of(document),
    )


if __name__ == '__main__':
    main()
