#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 bestshot.devenv maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: scheduler_schedule_group
short_description: Manage Amazon EventBridge Scheduler schedule groups
version_added: 0.1.0
description:
  - Creates and deletes a schedule group of Amazon EventBridge Scheduler (the C(scheduler) API) and manages its tags,
    on AWS or on an AWS-compatible endpoint such as LocalStack (O(endpoint_url)).
  - Idempotent; supports check mode and diff mode.
author:
  - bestshot.devenv maintainers (@bestshot)
options:
  name:
    description: Name of the group (1-64 letters, digits, C(.), C(-), C(_)). The group C(default) always exists.
    type: str
    required: true
  state:
    description:
      - Whether the group should exist. Deleting a group deletes the schedules in it.
    type: str
    choices: [present, absent]
    default: present
  tags:
    description: Tags of the group. Left out, the group's tags are not managed.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Whether tags that are not in O(tags) are removed.
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
seealso:
  - module: bestshot.devenv.scheduler_schedule
"""

EXAMPLES = r"""
- name: A group for the reporting schedules
  bestshot.devenv.scheduler_schedule_group:
    name: reports
    tags:
      team: data
    endpoint_url: http://127.0.0.1:4566
    region: us-east-1
    access_key: test
    secret_key: test

- name: Remove the group and its schedules
  bestshot.devenv.scheduler_schedule_group:
    name: reports
    state: absent
"""

RETURN = r"""
schedule_group:
  description: The group as the API describes it after the change (empty when it was removed).
  returned: always
  type: dict
  contains:
    arn:
      description: ARN of the group.
      type: str
      sample: arn:aws:scheduler:us-east-1:000000000000:schedule-group/reports
    name:
      description: Name of the group.
      type: str
      sample: reports
    state:
      description: C(ACTIVE) or C(DELETING).
      type: str
      sample: ACTIVE
    tags:
      description: Tags of the group.
      type: dict
      sample: {"team": "data"}
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import NAME
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import call_api
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import fetch
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import jsonable
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import tags_to_dict
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import tags_to_list


def read(module, client, name):
    """The group with its tags as a dict, or None."""
    group = fetch(module, client.get_schedule_group, f"schedule group {name}", Name=name)
    if group is None:
        return None
    group = jsonable(group)
    answer = fetch(module, client.list_tags_for_resource, f"tags of schedule group {name}", ResourceArn=group["Arn"])
    group["Tags"] = tags_to_dict((answer or {}).get("Tags"))
    return group


def describe(group):
    if not group:
        return {}
    tags = group.get("Tags", {})
    described = camel_dict_to_snake_dict({key: value for key, value in group.items() if key != "Tags"})
    described["tags"] = tags
    return described


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    name, state, tags = module.params["name"], module.params["state"], module.params["tags"]
    if not NAME.match(name):
        module.fail_json(msg=f"name must be 1-64 letters, digits, '.', '-' or '_'; got {name!r}")
    if name == "default" and state == "absent":
        module.fail_json(msg="the group 'default' cannot be deleted")
    tags = {key: str(value) for key, value in (tags or {}).items()} if tags is not None else None
    client = module.client("scheduler")

    before = read(module, client, name)
    after = before
    changed = False

    if state == "absent":
        if before is not None:
            changed = True
            if not module.check_mode:
                call_api(module, client.delete_schedule_group, f"delete schedule group {name}", Name=name)
            after = None
    elif before is None:
        changed = True
        if module.check_mode:
            after = {"Name": name, "State": "ACTIVE", "Tags": tags or {}}
        else:
            call_api(
                module, client.create_schedule_group, f"create schedule group {name}", Name=name, Tags=tags_to_list(tags)
            )
            after = read(module, client, name)
    elif tags is not None:
        have = before["Tags"]
        add = {key: value for key, value in tags.items() if have.get(key) != value}
        remove = [key for key in have if key not in tags] if module.params["purge_tags"] else []
        if add or remove:
            changed = True
            if not module.check_mode:
                if add:
                    call_api(module, client.tag_resource, f"tag schedule group {name}",
                             ResourceArn=before["Arn"], Tags=tags_to_list(add))
                if remove:
                    call_api(module, client.untag_resource, f"untag schedule group {name}",
                             ResourceArn=before["Arn"], TagKeys=remove)
                after = read(module, client, name)
            else:
                after = {**before, "Tags": {**{k: v for k, v in have.items() if k not in remove}, **add}}

    result = dict(changed=changed, schedule_group=describe(after))
    if module._diff:
        result["diff"] = dict(before=describe(before), after=describe(after))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
