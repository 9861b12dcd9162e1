#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: devenv_secrets
short_description: Read a set of per-machine secrets, generating and storing those missing
version_added: 1.1.0
description:
  - Makes sure the given directories exist with mode C(0700), then reads each requested secret from its file in
    O(path) and generates (with Python's C(secrets) module) and stores (mode C(0600)) those that are missing.
  - One call for what would otherwise be a directory, a read and a write task per secret; the phases of
    C(bestshot.devenv) use it through the C(devenv) role's C(secrets) entry point.
  - The values are returned so that the playbook can use them. Always run it with C(no_log=true).
author:
  - bestshot.devenv maintainers (@bestshot)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Missing secrets are generated and returned but not stored; directories are not created.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  path:
    description: Directory of the secrets, one file each (created with mode C(0700) when missing).
    type: path
    required: true
  directories:
    description: Further directories to create with mode C(0700) when missing (for example the state directory).
    type: list
    elements: path
    default: []
  files:
    description: The secrets to read or generate, one file each.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: File name of the secret in O(path) (letters, digits, C(.), C(_) and C(-)).
        type: str
        required: true
      length:
        description: Number of characters of a generated secret.
        type: int
        default: 32
      chars:
        description:
          - Character sets of a generated secret, as the C(ansible.builtin.password) lookup names them
            (C(ascii_letters), C(ascii_lowercase), C(ascii_uppercase), C(digits), C(hexdigits), C(punctuation)), or
            literal characters (for example C(abcdef)).
        type: list
        elements: str
        default: [ascii_letters, digits]
  stored:
    description:
      - Also return every other secret already stored in O(path) (each file whose name is a valid secret name), with
        its mode set to C(0600) like a requested one. A playbook whose later steps need further secrets of the same
        directory then needs no second call; none is generated.
    type: bool
    default: false
notes:
  - An existing file is read as it is (surrounding white space removed), whatever its length or characters; its mode is
    set to C(0600).
"""

EXAMPLES = r"""
- name: Read or generate the database passwords
  bestshot.devenv.devenv_secrets:
    path: "{{ devenv_secrets_dir }}"
    directories: ["{{ devenv_home }}"]
    files:
      - name: postgres-app-password
      - name: api-token
        length: 40
        chars: [digits, abcdef]
  register: stored
  no_log: true
"""

RETURN = r"""
secrets:
  description: Each secret's value by its name (with O(stored), also those of the other files).
  returned: success
  type: dict
  sample: {"postgres-app-password": "..."}
created:
  description: Names of the secrets generated in this run (in check mode, those a real run would generate).
  returned: success
  type: list
  elements: str
  sample: ["postgres-app-password"]
"""

import os
import re
import secrets as secrets_lib
import string

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bestshot.devenv.plugins.module_utils.files import write_atomically

CHARACTER_SETS = {
    "ascii_letters": string.ascii_letters,
    "ascii_lowercase": string.ascii_lowercase,
    "ascii_uppercase": string.ascii_uppercase,
    "digits": string.digits,
    "hexdigits": string.hexdigits,
    "punctuation": string.punctuation,
}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def alphabet(chars):
    """The characters a generated secret is drawn from (each once, in a stable order)."""
    pool = "".join(CHARACTER_SETS.get(entry, entry) for entry in chars)
    return "".join(dict.fromkeys(pool))


def ensure_directory(module, path):
    """Creates path (0700) when missing; returns whether it changed something."""
    if os.path.isdir(path):
        if os.stat(path).st_mode & 0o777 != 0o700:
            if not module.check_mode:
                os.chmod(path, 0o700)
            return True
        return False
    if not module.check_mode:
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            directories=dict(type="list", elements="path", default=[]),
            files=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    length=dict(type="int", default=32),
                    chars=dict(type="list", elements="str", default=["ascii_letters", "digits"]),
                ),
            ),
            stored=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    for request in module.params["files"]:
        if not NAME.match(request["name"]):
            module.fail_json(msg=f"secret name {request['name']!r} must be letters, digits, '.', '_' and '-'")
        if request["length"] < 1 or not alphabet(request["chars"]):
            module.fail_json(msg=f"secret {request['name']}: length must be positive and chars must not be empty")

    changed = False
    for directory in [*module.params["directories"], path]:
        changed = ensure_directory(module, directory) or changed

    values, created = {}, []
    requests = list(module.params["files"])
    if module.params["stored"] and os.path.isdir(path):
        requested = {request["name"] for request in requests}
        requests += [{"name": name} for name in sorted(os.listdir(path))
                     if name not in requested and NAME.match(name) and os.path.isfile(os.path.join(path, name))]
    for request in requests:
        file_path = os.path.join(path, request["name"])
        if os.path.isfile(file_path):
            with open(file_path, encoding="utf-8") as handle:
                values[request["name"]] = handle.read().strip()
            if os.stat(file_path).st_mode & 0o777 != 0o600:
                changed = True
                if not module.check_mode:
                    os.chmod(file_path, 0o600)
            continue
        pool = alphabet(request["chars"])
        values[request["name"]] = "".join(secrets_lib.choice(pool) for position in range(request["length"]))
        created.append(request["name"])
        changed = True
        if not module.check_mode:
            write_atomically(file_path, values[request["name"]].encode("utf-8"), 0o600)

    module.exit_json(changed=changed, secrets=values, created=created)


if __name__ == "__main__":
    main()
