"""bestshot.devenv.scheduler_schedule and scheduler_schedule_group against the real LocalStack runtime:
create, no-op, update, delete, check mode and diff."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from conftest import run_module

CONNECTION = {
    "endpoint_url": "http://127.0.0.1:4566",
    "region": "us-east-1",
    "access_key": "test",
    "secret_key": "test",
}
TARGET = {"arn": "arn:aws:sqs:us-east-1:000000000000:jobs", "role_arn": "arn:aws:iam::000000000000:role/scheduler"}


@pytest.fixture
def scheduler():
    return boto3.client(
        "scheduler",
        endpoint_url=CONNECTION["endpoint_url"],
        region_name=CONNECTION["region"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def group(scheduler):
    name = f"modtest-{uuid.uuid4().hex[:8]}"
    yield name
    if name in group_names(scheduler):
        scheduler.delete_schedule_group(Name=name)


def tags_seen_by_a_new_run(group, connection):
    """The group's tags as a fresh module run reads them back.

    LocalStack 4.14.0 answers ListTagsForResource for a group created by one client with [] to some other clients
    (seen with a plain boto3 client beside the module), so the read-back goes through a new process of the module.
    """
    result = run_module("bestshot.devenv.scheduler_schedule_group", {"name": group, **connection}, "--check")
    return result["schedule_group"]["tags"]


def group_names(scheduler):
    return {group["Name"] for group in scheduler.list_schedule_groups()["ScheduleGroups"]}


def test_group_check_mode_reports_a_creation_without_making_it(scheduler, group):
    result = run_module("bestshot.devenv.scheduler_schedule_group", {"name": group, **CONNECTION}, "--check")
    assert result["changed"] is True
    assert group not in group_names(scheduler)


def test_group_create_noop_retag_and_delete(scheduler, group):
    args = {"name": group, "tags": {"team": "data"}, **CONNECTION}
    created = run_module("bestshot.devenv.scheduler_schedule_group", args)
    assert created["changed"] is True and created["schedule_group"]["tags"] == {"team": "data"}
    assert group in group_names(scheduler)
    assert run_module("bestshot.devenv.scheduler_schedule_group", args)["changed"] is False

    retag = {**args, "tags": {"team": "platform"}}
    checked = run_module("bestshot.devenv.scheduler_schedule_group", retag, "--check", "--diff")
    assert checked["changed"] is True and checked["diff"]["after"]["tags"] == {"team": "platform"}
    assert tags_seen_by_a_new_run(group, CONNECTION) == {"team": "data"}
    assert run_module("bestshot.devenv.scheduler_schedule_group", retag)["changed"] is True
    assert tags_seen_by_a_new_run(group, CONNECTION) == {"team": "platform"}
    assert run_module("bestshot.devenv.scheduler_schedule_group", retag)["changed"] is False

    absent = {"name": group, "state": "absent", **CONNECTION}
    assert run_module("bestshot.devenv.scheduler_schedule_group", absent, "--check")["changed"] is True
    assert group in group_names(scheduler)
    assert run_module("bestshot.devenv.scheduler_schedule_group", absent)["changed"] is True
    assert group not in group_names(scheduler)
    assert run_module("bestshot.devenv.scheduler_schedule_group", absent)["changed"] is False


def test_schedule_create_noop_update_and_delete(scheduler, group):
    run_module("bestshot.devenv.scheduler_schedule_group", {"name": group, **CONNECTION})
    args = {
        "name": "hourly-sync",
        "group_name": group,
        "schedule_expression": "rate(1 hour)",
        "description": "sync every hour",
        "target": {**TARGET, "input": {"job": "sync"}},
        **CONNECTION,
    }
    checked = run_module("bestshot.devenv.scheduler_schedule", args, "--check")
    assert checked["changed"] is True
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name="hourly-sync", GroupName=group)

    created = run_module("bestshot.devenv.scheduler_schedule", args)
    assert created["changed"] is True
    assert created["schedule"]["schedule_expression"] == "rate(1 hour)"
    stored = scheduler.get_schedule(Name="hourly-sync", GroupName=group)
    assert stored["Description"] == "sync every hour" and stored["State"] == "ENABLED"
    assert json.loads(stored["Target"]["Input"]) == {"job": "sync"}

    assert run_module("bestshot.devenv.scheduler_schedule", args)["changed"] is False

    changed = {**args, "schedule_expression": "cron(30 6 * * ? *)", "enabled": False}
    diff = run_module("bestshot.devenv.scheduler_schedule", changed, "--check", "--diff")
    assert diff["changed"] is True
    assert diff["diff"]["before"]["schedule_expression"] == "rate(1 hour)"
    assert diff["diff"]["after"]["schedule_expression"] == "cron(30 6 * * ? *)"
    assert scheduler.get_schedule(Name="hourly-sync", GroupName=group)["ScheduleExpression"] == "rate(1 hour)"

    updated = run_module("bestshot.devenv.scheduler_schedule", changed)
    assert updated["changed"] is True
    stored = scheduler.get_schedule(Name="hourly-sync", GroupName=group)
    assert (stored["ScheduleExpression"], stored["State"]) == ("cron(30 6 * * ? *)", "DISABLED")
    assert stored["Description"] == "sync every hour"  # options left out keep their value
    assert run_module("bestshot.devenv.scheduler_schedule", changed)["changed"] is False

    absent = {"name": "hourly-sync", "group_name": group, "state": "absent", **CONNECTION}
    assert run_module("bestshot.devenv.scheduler_schedule", absent, "--check")["changed"] is True
    assert scheduler.get_schedule(Name="hourly-sync", GroupName=group)
    assert run_module("bestshot.devenv.scheduler_schedule", absent)["changed"] is True
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name="hourly-sync", GroupName=group)
    assert run_module("bestshot.devenv.scheduler_schedule", absent)["changed"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"schedule_expression": "every hour", "target": TARGET}, "schedule_expression must be"),
        ({"schedule_expression": "rate(1 hour)"}, "target required to create"),
        ({"schedule_expression": "rate(1 hour)", "target": TARGET, "start_date": "tomorrow"}, "start_date must be"),
        ({"schedule_expression": "rate(1 hour)", "target": {"arn": "x"}}, "role_arn"),
    ],
)
def test_schedule_bad_input_fails_with_a_clear_message(scheduler, args, message):
    name = f"bad-{uuid.uuid4().hex[:8]}"
    result = run_module("bestshot.devenv.scheduler_schedule", {"name": name, **args, **CONNECTION}, expect_failure=True)
    assert message in result["msg"]
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name=name)
