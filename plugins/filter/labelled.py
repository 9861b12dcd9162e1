# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter bestshot.devenv.labelled (documented in labelled.yml beside this file)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.bestshot.devenv.plugins.module_utils.labels import PROJECT_LABEL, ROLE_LABEL


def labelled(objects, project, role=None):
    """The Docker objects of a listing that carry the project's label, and the role's when one is given.

    ``objects`` is a list of Docker's own descriptions (containers, volumes or networks as the engine lists them),
    each with its labels under ``Labels``; Docker gives ``null`` for an object without labels.
    """
    if objects is None:
        return []
    if not isinstance(objects, (list, tuple)):
        raise AnsibleFilterError(f"labelled expects a list of Docker objects, got {type(objects).__name__}")
    wanted = {PROJECT_LABEL: project}
    if role is not None:
        wanted[ROLE_LABEL] = role
    found = []
    for item in objects:
        labels = (item.get("Labels") if isinstance(item, dict) else None) or {}
        if all(labels.get(key) == value for key, value in wanted.items()):
            found.append(item)
    return found


class FilterModule:
    """Filters of bestshot.devenv."""

    def filters(self):
        return {"labelled": labelled}
