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
    when it differs), each marked block of lines under O(blocks) is in its file as given (or gone), and each path
    listed under O(absent) is gone.
  - One call for what would otherwise be a C(file) or C(copy) task per path, each a module call of its own; the
    phases of C(bestshot.devenv) use it for the files they mount into their containers (for example LocalStack's
    init hooks), and for their blocks of the app's env file.
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
  blocks:
    description:
      - Marked blocks of lines in files whose other lines are left as they are (as C(ansible.builtin.blockinfile)
        writes them, so a file it wrote is taken over unchanged). A block is the line O(blocks[].marker) with
        C({mark}) as C(BEGIN), its lines, and the marker with C(END).
      - A block found in the file is replaced where it is; a new one is added at the end. Several blocks of one
        file are written in one step.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file. It is created (with O(blocks[].mode)) when a block is to be written and it is missing.
        type: path
        required: true
      marker:
        description: The marker line, with C({mark}) where C(BEGIN) and C(END) go.
        type: str
        required: true
      block:
        description: The block's lines (without the markers). Ignored when O(blocks[].state=absent).
        type: str
        default: ""
      state:
        description: C(present) writes the block; C(absent) removes it (nothing to do when the file is missing).
        type: str
        choices: [present, absent]
        default: present
      mode:
        description: The file's mode, in octal, when it is written or created.
        type: str
        default: "0600"
  absent:
    description: Paths to remove (a file, a link or a whole directory); a missing path is left as it is.
    type: list
    elements: path
    default: []
notes:
  - Directories are handled first, then files, then blocks, then O(absent).
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

- name: Write one block of the env file and remove another, in one step
  bestshot.devenv.devenv_files:
    blocks:
      - path: "{{ devenv_env_file }}"
        marker: "# {mark} postgres (managed by bestshot.devenv)"
        block: |-
          PGHOST=127.0.0.1
          PGPORT=5432
      - path: "{{ devenv_env_file }}"
        marker: "# {mark} traces (managed by bestshot.devenv)"
        state: absent
  no_log: true  # the blocks may hold credentials
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bestshot.devenv.plugins.module_utils.files import write_atomically

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


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def with_block(content, marker, block, present):
    """content (bytes, or None for a missing file) with the marked block replaced where it is, added at the end, or
    removed: the lines blockinfile writes, so that a file it wrote is taken over as it is."""
    begin, end = (marker.replace("{mark}", mark).encode("utf-8") for mark in ("BEGIN", "END"))
    lines = (content or b"").splitlines(True)
    first = last = None
    for number, line in enumerate(lines):
        if line.rstrip(b"\r\n") == begin:
            first = number
        if line.rstrip(b"\r\n") == end:
            last = number
    wanted = []
    if present:
        wanted = [begin + b"\n"] + [line + b"\n" for line in block.encode("utf-8").splitlines()] + [end + b"\n"]
    if first is not None and last is not None and first <= last:
        lines[first:last + 1] = wanted
    elif wanted:
        if lines and not lines[-1].endswith((b"\n", b"\r")):
            lines[-1] += b"\n"
        lines.extend(wanted)
    return b"".join(lines)


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
            blocks=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    path=dict(type="path", required=True),
                    marker=dict(type="str", required=True),
                    block=dict(type="str", default=""),
                    state=dict(type="str", choices=["present", "absent"], default="present"),
                    mode=dict(type="str", default="0600"),
                ),
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
    # The blocks, applied file by file to what each file holds now: one (path, content, mode) more per file.
    edited = {}
    for entry in module.params["blocks"]:
        if "{mark}" not in entry["marker"]:
            module.fail_json(msg=f"{entry['path']}: a block's marker must hold {{mark}}; got {entry['marker']!r}")
        path = entry["path"]
        before = edited[path][0] if path in edited else read_bytes(path)
        present = entry["state"] == "present"
        after = with_block(before, entry["marker"], entry["block"], present)
        if before is None and not present:
            after = None  # nothing to remove from a file that does not exist
        if present:
            mode = parse_mode(module, entry["mode"], path)
        elif path in edited:
            mode = edited[path][1]
        else:
            mode = current_mode(path) if before is not None else None  # a removal leaves the mode as it is
        edited[path] = (after, mode)
    files.extend((path, content, mode) for path, (content, mode) in edited.items() if content is not None)

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
            write_atomically(path, content, mode)
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
