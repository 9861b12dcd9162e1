# -*- coding: utf-8 -*-
# Copyright (c) 2026 bestshot.devenv maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the EventBridge Scheduler modules of bestshot.devenv."""

from __future__ import annotations

import datetime
import re

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

# rate(5 minutes) | cron(0 12 * * ? *) | at(2026-01-01T09:00:00)
SCHEDULE_EXPRESSION = re.compile(
    r"^(rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)"
    r"|cron\(\S+( \S+){5}\)"
    r"|at\([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\))$"
)
# Schedule and group names: 1-64 letters, digits, '.', '-', '_'.
NAME = re.compile(r"^[0-9a-zA-Z._-]{1,64}$")


def fetch(module, call, what, **kwargs):
    """The API's answer to a get_* call, or None when the resource does not exist."""
    try:
        return call(**kwargs)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg=f"Could not read {what}")


def call_api(module, call, what, **kwargs):
    """Runs a changing API call; fails the module with the API's message when it is refused."""
    try:
        return call(**kwargs)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg=f"Could not {what}")


def to_datetime(value):
    """ISO 8601 text (or a datetime) as an aware datetime (UTC when no zone is given), None stays None."""
    if value is None or isinstance(value, datetime.datetime):
        moment = value
    else:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def jsonable(value):
    """The API's answer with datetimes as ISO 8601 text, for return values and diffs."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items() if key != "ResponseMetadata"}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value
