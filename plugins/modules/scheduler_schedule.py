#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 bestshot.devenv maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: scheduler_schedule
short_description: Manage Amazon EventBridge Scheduler schedules
version_added: 0.1.0
description:
  - Creates, updates and deletes a schedule of Amazon EventBridge Scheduler (the C(scheduler) API), on AWS or on an
    AWS-compatible endpoint such as LocalStack (O(endpoint_url)).
  - Idempotent.
  - Options left out are not compared and keep the value the schedule has. When any given option differs, the
    schedule is updated with the given options merged over its current ones.
author:
  - bestshot.devenv maintainers (@bestshot)
options:
  name:
    description: Name of the schedule (1-64 letters, digits, C(.), C(-), C(_)), unique within its group.
    type: str
    required: true
  group_name:
    description: Schedule group the schedule belongs to; it must exist (see M(bestshot.devenv.scheduler_schedule_group)).
    type: str
    default: default
  state:
    description: Whether the schedule should exist.
    type: str
    choices: [present, absent]
    default: present
  schedule_expression:
    description:
      - When the schedule runs, C(rate(<n> minutes|hours|days)), C(cron(<6 fields>)) or C(at(yyyy-mm-ddThh:mm:ss)).
      - Required when O(state=present) and the schedule does not exist yet.
    type: str
  schedule_expression_timezone:
    description: Time zone of a C(cron) or C(at) expression, for example C(Europe/Berlin).
    type: str
  description:
    description: Description of the schedule.
    type: str
  enabled:
    description: Whether the schedule is enabled (C(ENABLED)) or paused (C(DISABLED)).
    type: bool
    default: true
  start_date:
    description: ISO 8601 date and time before which the schedule does not run.
    type: str
  end_date:
    description: ISO 8601 date and time after which the schedule does not run.
    type: str
  action_after_completion:
    description: What happens to the schedule after its last run.
    type: str
    choices: [NONE, DELETE]
  flexible_time_window:
    description: Window in which the schedule may run after its scheduled time.
    type: dict
    suboptions:
      mode:
        description: C(OFF) runs on time; C(FLEXIBLE) runs within O(flexible_time_window.maximum_window_in_minutes).
        type: str
        choices: ["OFF", FLEXIBLE]
        default: "OFF"
      maximum_window_in_minutes:
        description: Size of the window (1-1440), required with O(flexible_time_window.mode=FLEXIBLE).
        type: int
  target:
    description:
      - What the schedule invokes. Required when O(state=present) and the schedule does not exist yet.
    type: dict
    suboptions:
      arn:
        description: ARN of the target (a Lambda function, SQS queue, SNS topic, or a universal target).
        type: str
        required: true
      role_arn:
        description: ARN of the IAM role the scheduler assumes to invoke the target.
        type: str
        required: true
      input:
        description: Payload sent to the target; a string, or a dictionary sent as JSON.
        type: json
      retry_policy:
        description: How often, and for how long, a failed invocation is retried.
        type: dict
        suboptions:
          maximum_event_age_in_seconds:
            description: Maximum age of an event that is still retried (60-86400).
            type: int
          maximum_retry_attempts:
            description: Maximum number of retries (0-185).
            type: int
      dead_letter_arn:
        description: ARN of an SQS queue that receives events that could not be delivered.
        type: str
attributes:
  check_mode:
    support: full
    details: Reports what would be created, updated or deleted, and calls no changing API.
  diff_mode:
    support: full
    details: The schedule as the API describes it, before and after.
  platform:
    support: full
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - In the LocalStack community edition schedules are stored but never run, and they are gone after a restart
    unless something recreates them (the P(bestshot.devenv.localstack#role) role renders an init hook that does).
seealso:
  - module: bestshot.devenv.scheduler_schedule_group
"""

EXAMPLES = r"""
- name: Run the nightly report at 02:00 Berlin time
  bestshot.devenv.scheduler_schedule:
    name: nightly-report
    group_name: reports
    schedule_expression: cron(0 2 * * ? *)
    schedule_expression_timezone: Europe/Berlin
    target:
      arn: arn:aws:sqs:us-east-1:000000000000:reports
      role_arn: arn:aws:iam::000000000000:role/scheduler
      input: {"report": "nightly"}
    endpoint_url: http://127.0.0.1:4566
    region: us-east-1
    access_key: test
    secret_key: test

- name: Pause it
  bestshot.devenv.scheduler_schedule:
    name: nightly-report
    group_name: reports
    enabled: false

- name: Remove it
  bestshot.devenv.scheduler_schedule:
    name: nightly-report
    group_name: reports
    state: absent
"""

RETURN = r"""
schedule:
  description: The schedule as the API describes it after the change (empty when it was removed).
  returned: always
  type: dict
  contains:
    arn:
      description: ARN of the schedule.
      type: str
      sample: arn:aws:scheduler:us-east-1:000000000000:schedule/reports/nightly-report
    name:
      description: Name of the schedule.
      type: str
      sample: nightly-report
    group_name:
      description: Its group.
      type: str
      sample: reports
    schedule_expression:
      description: When it runs.
      type: str
      sample: cron(0 2 * * ? *)
    state:
      description: C(ENABLED) or C(DISABLED).
      type: str
      sample: ENABLED
    target:
      description: What it invokes (C(arn), C(role_arn), C(input), C(retry_policy), ...).
      type: dict
      sample: {"arn": "arn:aws:sqs:us-east-1:000000000000:reports", "role_arn": "arn:aws:iam::000000000000:role/scheduler"}
    flexible_time_window:
      description: Its flexible time window.
      type: dict
      sample: {"mode": "OFF"}
"""

import json

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import NAME
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import SCHEDULE_EXPRESSION
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import call_api
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import fetch
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import jsonable
from ansible_collections.bestshot.devenv.plugins.module_utils.scheduler import to_datetime

# The parts of a schedule this module manages, as the API names them.
MANAGED = (
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "Description",
    "State",
    "StartDate",
    "EndDate",
    "ActionAfterCompletion",
    "FlexibleTimeWindow",
    "Target",
)


def requested(params):
    """The schedule the task asks for, in the API's shape; options left out are not in it."""
    wanted = {
        "ScheduleExpression": params["schedule_expression"],
        "ScheduleExpressionTimezone": params["schedule_expression_timezone"],
        "Description": params["description"],
        "State": "ENABLED" if params["enabled"] else "DISABLED",
        "StartDate": to_datetime(params["start_date"]),
        "EndDate": to_datetime(params["end_date"]),
        "ActionAfterCompletion": params["action_after_completion"],
    }
    window = params["flexible_time_window"]
    if window:
        wanted["FlexibleTimeWindow"] = {"Mode": window["mode"]}
        if window["maximum_window_in_minutes"] is not None:
            wanted["FlexibleTimeWindow"]["MaximumWindowInMinutes"] = window["maximum_window_in_minutes"]
    target = params["target"]
    if target:
        wanted["Target"] = {"Arn": target["arn"], "RoleArn": target["role_arn"]}
        if target["input"] is not None:
            wanted["Target"]["Input"] = target["input"]
        retry = target["retry_policy"] or {}
        retry_policy = {
            key: retry.get(option)
            for key, option in (
                ("MaximumEventAgeInSeconds", "maximum_event_age_in_seconds"),
                ("MaximumRetryAttempts", "maximum_retry_attempts"),
            )
            if retry.get(option) is not None
        }
        if retry_policy:
            wanted["Target"]["RetryPolicy"] = retry_policy
        if target["dead_letter_arn"]:
            wanted["Target"]["DeadLetterConfig"] = {"Arn": target["dead_letter_arn"]}
    return {key: value for key, value in wanted.items() if value is not None}


def current(schedule):
    """The managed parts of an existing schedule (dates as aware datetimes)."""
    present = {key: schedule[key] for key in MANAGED if schedule.get(key) is not None}
    for key in ("StartDate", "EndDate"):
        if key in present:
            present[key] = to_datetime(present[key])
    if "Target" in present:
        present["Target"] = {key: value for key, value in present["Target"].items() if value is not None}
    return present


def same(key, have, want):
    if key == "Input":
        try:
            return json.loads(have) == json.loads(want)
        except (TypeError, ValueError):
            return have == want
    if isinstance(want, dict):
        have = have if isinstance(have, dict) else {}
        return all(same(sub, have.get(sub), value) for sub, value in want.items())
    return have == want


def merge(have, want):
    """want over have, one level into dictionaries (Target, FlexibleTimeWindow, RetryPolicy)."""
    merged = dict(have)
    for key, value in want.items():
        if isinstance(value, dict) and isinstance(have.get(key), dict):
            merged[key] = merge(have[key], value)
        else:
            merged[key] = value
    return merged


def describe(schedule):
    return camel_dict_to_snake_dict(jsonable(schedule or {}))


def check_params(module):
    params = module.params
    if not NAME.match(params["name"]):
        module.fail_json(msg=f"name must be 1-64 letters, digits, '.', '-' or '_'; got {params['name']!r}")
    if not NAME.match(params["group_name"]):
        module.fail_json(msg=f"group_name must be 1-64 letters, digits, '.', '-' or '_'; got {params['group_name']!r}")
    expression = params["schedule_expression"]
    if expression is not None and not SCHEDULE_EXPRESSION.match(expression):
        module.fail_json(
            msg=f"schedule_expression must be rate(<n> minutes|hours|days), cron(<6 fields>) or "
            f"at(yyyy-mm-ddThh:mm:ss); got {expression!r}"
        )
    for option in ("start_date", "end_date"):
        try:
            to_datetime(params[option])
        except ValueError:
            module.fail_json(msg=f"{option} must be an ISO 8601 date and time; got {params[option]!r}")
    window = params["flexible_time_window"] or {}
    if window.get("mode") == "FLEXIBLE" and not window.get("maximum_window_in_minutes"):
        module.fail_json(msg="flexible_time_window.maximum_window_in_minutes is required with mode FLEXIBLE")


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        group_name=dict(type="str", default="default"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        schedule_expression=dict(type="str"),
        schedule_expression_timezone=dict(type="str"),
        description=dict(type="str"),
        enabled=dict(type="bool", default=True),
        start_date=dict(type="str"),
        end_date=dict(type="str"),
        action_after_completion=dict(type="str", choices=["NONE", "DELETE"]),
        flexible_time_window=dict(
            type="dict",
            options=dict(
                mode=dict(type="str", choices=["OFF", "FLEXIBLE"], default="OFF"),
                maximum_window_in_minutes=dict(type="int"),
            ),
        ),
        target=dict(
            type="dict",
            options=dict(
                arn=dict(type="str", required=True),
                role_arn=dict(type="str", required=True),
                input=dict(type="json"),
                retry_policy=dict(
                    type="dict",
                    options=dict(
                        maximum_event_age_in_seconds=dict(type="int"),
                        maximum_retry_attempts=dict(type="int"),
                    ),
                ),
                dead_letter_arn=dict(type="str"),
            ),
        ),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    check_params(module)
    params = module.params
    client = module.client("scheduler")
    key = dict(Name=params["name"], GroupName=params["group_name"])
    what = f"schedule {params['group_name']}/{params['name']}"

    before = fetch(module, client.get_schedule, what, **key)
    after = before

    if params["state"] == "absent":
        changed = before is not None
        if changed and not module.check_mode:
            call_api(module, client.delete_schedule, f"delete {what}", **key)
        after = None
    elif before is None:
        missing = [option for option in ("schedule_expression", "target") if params[option] is None]
        if missing:
            module.fail_json(msg=f"{' and '.join(missing)} required to create {what}")
        request = {"FlexibleTimeWindow": {"Mode": "OFF"}, **requested(params)}
        changed = True
        if module.check_mode:
            after = {**key, **request}
        else:
            call_api(module, client.create_schedule, f"create {what}", **key, **request)
            after = fetch(module, client.get_schedule, what, **key)
    else:
        have, want = current(before), requested(params)
        changed = not all(same(name, have.get(name), value) for name, value in want.items())
        if changed:
            request = merge(have, want)
            if module.check_mode:
                after = {**before, **request}
            else:
                call_api(module, client.update_schedule, f"update {what}", **key, **request)
                after = fetch(module, client.get_schedule, what, **key)

    result = dict(changed=changed, schedule=describe(after))
    if module._diff:
        result["diff"] = dict(before=describe(before), after=describe(after))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
