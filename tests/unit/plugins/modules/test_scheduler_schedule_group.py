"""Unit tests of scheduler_schedule_group's logic: which tags change, what check mode predicts, what it returns."""

from __future__ import annotations

import pytest

from ansible_collections.bestshot.devenv.plugins.modules import scheduler_schedule_group as module

ARN = "arn:aws:scheduler:us-east-1:000000000000:schedule-group/reports"
EXISTING = {"Arn": ARN, "Name": "reports", "State": "ACTIVE", "Tags": {"team": "data", "cost": "1"}}


def test_tags_left_out_are_not_managed():
    assert module.tag_changes({"team": "data"}, None, purge=True) == ({}, [])


def test_same_tags_change_nothing():
    assert module.tag_changes({"team": "data"}, {"team": "data"}, purge=True) == ({}, [])


def test_changed_and_new_tags_are_set_and_missing_ones_purged():
    add, remove = module.tag_changes({"team": "data", "cost": "1"}, {"team": "web", "env": "dev"}, purge=True)
    assert add == {"team": "web", "env": "dev"}
    assert remove == ["cost"]


def test_without_purge_missing_tags_stay():
    add, remove = module.tag_changes({"team": "data", "cost": "1"}, {"env": "dev"}, purge=False)
    assert add == {"env": "dev"}
    assert remove == []


def test_tags_reserved_by_aws_are_never_purged():
    add, remove = module.tag_changes({"aws:cloudformation:stack-name": "s", "team": "data"}, {}, purge=True)
    assert add == {}
    assert remove == ["team"]


def test_check_mode_predicts_a_new_group_with_its_tags():
    assert module.planned(None, "reports", {"team": "data"}, purge=True) == {
        "Name": "reports", "State": "ACTIVE", "Tags": {"team": "data"},
    }
    assert module.planned(None, "reports", None, purge=True)["Tags"] == {}


@pytest.mark.parametrize(
    "tags, purge, expected",
    [
        ({"team": "web"}, True, {"team": "web"}),
        ({"team": "web"}, False, {"team": "web", "cost": "1"}),
        (None, True, {"team": "data", "cost": "1"}),
    ],
)
def test_check_mode_predicts_the_tags_after_a_change(tags, purge, expected):
    after = module.planned(EXISTING, "reports", tags, purge)
    assert after["Tags"] == expected
    assert after["Arn"] == ARN
    assert EXISTING["Tags"] == {"team": "data", "cost": "1"}, "the group read from the API is left as it was"


def test_describe_returns_snake_case_keys_and_tags_as_given():
    described = module.describe({**EXISTING, "Tags": {"CamelKey": "v"}, "CreationDate": "2026-01-01T00:00:00+00:00"})
    assert described == {
        "arn": ARN, "name": "reports", "state": "ACTIVE", "creation_date": "2026-01-01T00:00:00+00:00",
        "tags": {"CamelKey": "v"},
    }
    assert module.describe(None) == {}
