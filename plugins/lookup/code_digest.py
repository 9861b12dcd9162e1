# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: code_digest
short_description: A digest of this collection's roles, playbooks and plugins
version_added: 1.2.0
description:
  - Returns one SHA-256 over the paths and contents of the files under the collection's C(roles), C(playbooks) and
    C(plugins) folders, as installed on the controller.
  - The quick look of C(site.yml) (C(bestshot.devenv.devenv_quick_look)) keys its record with it, so that a
    newer version of the collection (a C(git pull) of a checkout too) runs every phase again.
author:
  - bestshot.devenv maintainers (@bestshot)
options: {}
"""

EXAMPLES = r"""
- name: Show the digest of the collection's code
  ansible.builtin.debug:
    msg: "{{ lookup('bestshot.devenv.code_digest') }}"
"""

RETURN = r"""
_raw:
  description: The digest, as 64 hexadecimal digits (one element).
  type: list
  elements: str
"""

import hashlib
import os

from ansible.plugins.lookup import LookupBase

FOLDERS = ("roles", "playbooks", "plugins")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
        digest = hashlib.sha256()
        for folder in FOLDERS:
            for directory, subdirectories, files in os.walk(os.path.join(root, folder)):
                subdirectories[:] = sorted(name for name in subdirectories if name != "__pycache__")
                for name in sorted(files):
                    if name.endswith((".pyc", ".pyo")):
                        continue
                    path = os.path.join(directory, name)
                    digest.update(os.path.relpath(path, root).encode("utf-8") + b"\0")
                    with open(path, "rb") as handle:
                        digest.update(hashlib.sha256(handle.read()).digest())
        return [digest.hexdigest()]
