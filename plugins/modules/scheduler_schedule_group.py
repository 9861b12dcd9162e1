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
  - Idempotent.
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
attributes:
  check_mode:
    support: full
    details: Reports what would be created, tagged or deleted, and calls no changing API.
  diff_mode:
    support: full
    details: The group (name, state, tags) before and after.
  platform:
    support: full
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
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
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import NAME
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import call_api
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import fetch
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import jsonable


def read(module, client, name):
    """The group with its tags as a dict, or None."""
    group = fetch(module, client.get_schedule_group, f"schedule group {name}", Name=name)
    if group is None:
        return None
    group = jsonable(group)
    answer = fetch(module, client.list_tags_for_resource, f"tags of schedule group {name}", ResourceArn=group["Arn"])
    group["Tags"] = boto3_tag_list_to_ansible_dict((answer or {}).get("Tags") or [])
    return group


def describe(group):
    if not group:
        return {}
    tags = group.get("Tags", {})
    described = camel_dict_to_snake_dict({key: value for key, value in group.items() if key != "Tags"})
    described["tags"] = tags
    return described


def tag_changes(have, want, purge):
    """Tags to set (dict) and tag keys to remove (list) to go from have to want; none when tags are not managed."""
    if want is None:
        return {}, []
    return compare_aws_tags(have, want, purge_tags=purge)


def planned(before, name, tags, purge):
    """The group as check mode predicts it after the change (None stays None when it is to be removed)."""
    if before is None:
        return {"Name": name, "State": "ACTIVE", "Tags": dict(tags or {})}
    add, remove = tag_changes(before["Tags"], tags, purge)
    kept = {key: value for key, value in before["Tags"].items() if key not in remove}
    return {**before, "Tags": {**kept, **add}}


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    name, state, tags = module.params["name"], module.params["state"], module.params["tags"]
    purge = module.params["purge_tags"]
    if not NAME.match(name):
        module.fail_json(msg=f"name must be 1-64 letters, digits, '.', '-' or '_'; got {name!r}")
    if name == "default" and state == "absent":
        module.fail_json(msg="the group 'default' cannot be deleted")
    tags = {key: str(value) for key, value in tags.items()} if tags is not None else None
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
            after = planned(before, name, tags, purge)
        else:
            call_api(
                module,
                client.create_schedule_group,
                f"create schedule group {name}",
                Name=name,
                Tags=ansible_dict_to_boto3_tag_list(tags or {}),
            )
            after = read(module, client, name)
    else:
        add, remove = tag_changes(before["Tags"], tags, purge)
        if add or remove:
            changed = True
            if module.check_mode:
                after = planned(before, name, tags, purge)
            else:
                if add:
                    call_api(module, client.tag_resource, f"tag schedule group {name}",
                             ResourceArn=before["Arn"], Tags=ansible_dict_to_boto3_tag_list(add))
                if remove:
                    call_api(module, client.untag_resource, f"untag schedule group {name}",
                             ResourceArn=before["Arn"], TagKeys=remove)
                after = read(module, client, name)

    result = dict(changed=changed, schedule_group=describe(after))
    if module._diff:
        result["diff"] = dict(before=describe(before), after=describe(after))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
