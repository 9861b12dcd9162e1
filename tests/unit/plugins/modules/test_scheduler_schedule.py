"""Unit tests of scheduler_schedule's pure logic: what a task asks for, how it compares with what exists."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.bestshot.devenv.plugins.module_utils import scheduler as utils
from ansible_collections.bestshot.devenv.plugins.modules import scheduler_schedule as module

PARAMS = {
    "schedule_expression": "rate(5 minutes)",
    "schedule_expression_timezone": None,
    "description": None,
    "enabled": True,
    "start_date": None,
    "end_date": None,
    "action_after_completion": None,
    "flexible_time_window": None,
    "target": {
        "arn": "arn:aws:sqs:us-east-1:000000000000:q",
        "role_arn": "arn:aws:iam::000000000000:role/r",
        "input": None,
        "retry_policy": None,
        "dead_letter_arn": None,
    },
}


@pytest.mark.parametrize(
    "expression",
    ["rate(1 minute)", "rate(5 minutes)", "rate(12 hours)", "cron(0 2 * * ? *)", "cron(0/5 8-17 ? * MON-FRI *)",
     "at(2026-12-24T18:00:00)"],
)
def test_valid_schedule_expressions_are_accepted(expression):
    assert utils.SCHEDULE_EXPRESSION.match(expression)


@pytest.mark.parametrize(
    "expression",
    ["rate(0 minutes)", "rate(5 weeks)", "cron(0 2 * * ?)", "every 5 minutes", "at(2026-12-24)", "rate(5minutes)", ""],
)
def test_malformed_schedule_expressions_are_refused(expression):
    assert not utils.SCHEDULE_EXPRESSION.match(expression)


def test_requested_leaves_out_what_the_task_does_not_set():
    wanted = module.requested(PARAMS)
    assert wanted == {
        "ScheduleExpression": "rate(5 minutes)",
        "State": "ENABLED",
        "Target": {"Arn": PARAMS["target"]["arn"], "RoleArn": PARAMS["target"]["role_arn"]},
    }


def test_requested_spells_every_option_the_api_way():
    params = {
        **PARAMS,
        "enabled": False,
        "start_date": "2026-01-01T00:00:00",
        "flexible_time_window": {"mode": "FLEXIBLE", "maximum_window_in_minutes": 15},
        "target": {**PARAMS["target"], "input": '{"a": 1}', "retry_policy": {"maximum_retry_attempts": 3,
                   "maximum_event_age_in_seconds": None}, "dead_letter_arn": "arn:dlq"},
    }
    wanted = module.requested(params)
    assert wanted["State"] == "DISABLED"
    assert wanted["StartDate"] == datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert wanted["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert wanted["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3}
    assert wanted["Target"]["DeadLetterConfig"] == {"Arn": "arn:dlq"}


def test_same_ignores_what_the_api_adds_and_json_formatting():
    have = {"Arn": "x", "RoleArn": "r", "Input": json.dumps({"b": 2, "a": 1}), "RetryPolicy": {"MaximumRetryAttempts": 185}}
    assert module.same("Target", have, {"Arn": "x", "RoleArn": "r", "Input": '{"a":1,"b":2}'})
    assert not module.same("Target", have, {"Arn": "x", "RoleArn": "other"})
    assert not module.same("Target", have, {"Arn": "x", "RoleArn": "r", "Input": '{"a": 2}'})


def test_same_compares_dates_whatever_their_zone_notation():
    have = utils.to_datetime("2026-01-01T01:00:00+01:00")
    assert module.same("StartDate", have, utils.to_datetime("2026-01-01T00:00:00Z"))


def test_merge_keeps_what_the_task_leaves_out():
    have = {"Description": "kept", "Target": {"Arn": "a", "RoleArn": "r", "Input": "old"}, "State": "ENABLED"}
    merged = module.merge(have, {"State": "DISABLED", "Target": {"Arn": "a", "RoleArn": "r2"}})
    assert merged == {"Description": "kept", "State": "DISABLED", "Target": {"Arn": "a", "RoleArn": "r2", "Input": "old"}}


def test_jsonable_turns_dates_into_text_and_drops_response_metadata():
    answer = {"CreationDate": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc), "ResponseMetadata": {}}
    assert utils.jsonable(answer) == {"CreationDate": "2026-01-01T00:00:00+00:00"}

