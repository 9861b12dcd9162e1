#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: devenv_files
short_description: Keep a set of directories and small files in line, in one call
version_added: 1.1.0
description:
  - Makes sure each directory exists with its mode, each file has the given content and mode (written in one step
    when it differs), and each path listed under O(absent) is gone.
  - One call for what would otherwise be a C(file) or C(copy) task per path, each a module call of its own; the
    phases of C(bestshot.devenv) use it for the files they mount into their containers (for example LocalStack's
    init hooks).
author:
  - bestshot.devenv maintainers (@bestshot)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what a real run would change; changes nothing.
  diff_mode:
    support: full
    details: Shows the content before and after of each file whose content changes.
  platform:
    platforms: posix
options:
  directories:
    description: Directories to create (with their parents) or to give O(directory_mode).
    type: list
    elements: path
    default: []
  directory_mode:
    description: The mode of the directories in O(directories), in octal.
    type: str
    default: "0755"
  files:
    description: Files and their content. Their directories must exist or be listed in O(directories).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      content:
        description: Its whole content (text). Exactly one of O(files[].content) and O(files[].src) is given.
        type: str
      src:
        description: A file on the managed machine whose content it gets (copied when they differ).
        type: path
      mode:
        description: Its mode, in octal (for example C(0644)).
        type: str
        default: "0644"
  absent:
    description: Paths to remove (a file, a link or a whole directory); a missing path is left as it is.
    type: list
    elements: path
    default: []
notes:
  - Directories are handled first, then files, then O(absent).
"""

EXAMPLES = r"""
- name: Install the init hooks
  bestshot.devenv.devenv_files:
    directories:
      - "{{ devenv_home }}/localstack/ready.d"
    files:
      - path: "{{ devenv_home }}/localstack/ready.d/10-restore.py"
        content: "{{ lookup('ansible.builtin.file', 'ready.d/10-restore.py') }}"
      - path: "{{ devenv_home }}/localstack/ready.d/50-configure.sh"
        content: "{{ lookup('ansible.builtin.file', 'ready.d/50-configure.sh') }}"
        mode: "0755"
    absent:
      - "{{ devenv_home }}/localstack/ready.d/50-old-hook.sh"
"""

RETURN = r"""
changed_paths:
  description: The paths created, written, given a mode or removed (in check mode, those a real run would change).
  returned: success
  type: list
  elements: str
  sample: ["/home/dev/.config/bestshot-devenv/localstack/ready.d/10-restore.py"]
"""

import os
import re
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

MODE = re.compile(r"^0?[0-7]{3}$")


def parse_mode(module, mode, what):
    if not MODE.match(mode):
        module.fail_json(msg=f"{what}: the mode must be octal like 0644; got {mode!r}")
    return int(mode, 8)


def current_mode(path):
    return os.lstat(path).st_mode & 0o7777


def ensure_directory(module, path, mode):
    """Returns whether the directory was (or would be) created or given its mode."""
    if os.path.isdir(path):
        if current_mode(path) == mode:
            return False
        if not module.check_mode:
            os.chmod(path, mode)
        return True
    if os.path.lexists(path):
        module.fail_json(msg=f"{path} exists and is not a directory")
    if not module.check_mode:
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
    return True


def read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return b""  # not a file: reported, then refused below


def shown(data):
    """A file's content as a diff shows it."""
    return "" if data is None else data.decode("utf-8", errors="replace")


def write_bytes(path, content, mode):
    """Writes content to path in one step (a temporary file beside it, then a rename)."""
    descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".devenv-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="path", default=[]),
            directory_mode=dict(type="str", default="0755"),
            files=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    path=dict(type="path", required=True),
                    content=dict(type="str"),
                    src=dict(type="path"),
                    mode=dict(type="str", default="0644"),
                ),
                required_one_of=[("content", "src")],
                mutually_exclusive=[("content", "src")],
            ),
            absent=dict(type="list", elements="path", default=[]),
        ),
        supports_check_mode=True,
    )
    directory_mode = parse_mode(module, module.params["directory_mode"], "directory_mode")
    directories = [(path, directory_mode) for path in module.params["directories"]]
    files = []
    for entry in module.params["files"]:
        if entry["src"] is not None:
            content = read_bytes(entry["src"])
            if content is None:
                module.fail_json(msg=f"{entry['path']}: its source {entry['src']} does not exist")
        else:
            content = entry["content"].encode("utf-8")
        files.append((entry["path"], content, parse_mode(module, entry["mode"], entry["path"])))

    changed_paths, diffs = [], []
    for path, mode in directories:
        if ensure_directory(module, path, mode):
            changed_paths.append(path)
    for path, content, mode in files:
        before = read_bytes(path)
        if before == content and current_mode(path) == mode:
            continue
        changed_paths.append(path)
        if before != content:
            diffs.append({"before_header": path, "after_header": path, "before": shown(before), "after": shown(content)})
        if module.check_mode:
            continue
        if before == content:
            os.chmod(path, mode)
        else:
            if not os.path.isdir(os.path.dirname(path)):
                module.fail_json(msg=f"{path}: its directory does not exist (list it under directories)")
            if os.path.isdir(path) and not os.path.islink(path):
                module.fail_json(msg=f"{path} is a directory")
            write_bytes(path, content, mode)
    for path in module.params["absent"]:
        if os.path.lexists(path):
            changed_paths.append(path)
            if not module.check_mode:
                remove(path)

    result = dict(changed=bool(changed_paths), changed_paths=changed_paths)
    if module._diff and diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
