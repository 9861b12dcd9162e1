"""Unit tests of the schedule engine's time logic and bookkeeping (roles/localstack/files/devenv_scheduler.py).

The engine runs inside LocalStack; its time logic imports nothing from LocalStack, so it is loaded here by path.
What only the real LocalStack can show (targets really receiving) is tested in molecule/localstack.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "roles" / "localstack" / "files" / "devenv_scheduler.py"
_spec = importlib.util.spec_from_file_location("devenv_scheduler", PATH)
sched = importlib.util.module_from_spec(_spec)
sys.modules["devenv_scheduler"] = sched
_spec.loader.exec_module(sched)

UTC = dt.UTC
ARN = "arn:aws:scheduler:us-east-1:000000000000:schedule/default/unit"
NO_CATCH_UP = dt.timedelta(0)
CATCH_UP = dt.timedelta(seconds=300)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def timing(expression: str, tz: str = "UTC", **kwargs) -> sched.Timing:
    return sched.Timing(sched.parse_expression(expression), sched.zone(tz), **kwargs)


def times(plan: sched.Timing, after: dt.datetime, count: int) -> list[dt.datetime]:
    found = []
    for _ in range(count):
        after = plan.next_after(after)
        if after is None:
            break
        found.append(after)
    return found


# expressions


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(5 weeks)",
        "cron(0 12 * * ?)",
        "cron(60 * * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 12 * FOO ? *)",
        "cron(0 12 ? * 2#6 *)",
        "at(2026-13-01T00:00:00)",
        "every day",
    ],
)
def test_bad_expressions_are_refused(expression):
    with pytest.raises(ValueError):
        sched.parse_expression(expression)


def test_unknown_time_zone_is_refused():
    with pytest.raises(sched.ExpressionError):
        sched.zone("Mars/Olympus_Mons")


# rate


def test_rate_fires_at_its_anchor_then_every_period():
    plan = timing("rate(5 minutes)", anchor=utc(2026, 11, 26, 10, 0, 7))
    assert times(plan, utc(2026, 11, 26, 9), 3) == [
        utc(2026, 11, 26, 10, 0, 7),
        utc(2026, 11, 26, 10, 5, 7),
        utc(2026, 11, 26, 10, 10, 7),
    ]
    assert plan.next_after(utc(2026, 11, 26, 10, 5, 7)) == utc(2026, 11, 26, 10, 10, 7)


def test_rate_1_minute_keeps_its_pace_across_a_dst_change():
    plan = timing("rate(1 minute)", "Europe/Berlin", anchor=utc(2026, 10, 25, 0, 58, 30))
    assert times(plan, utc(2026, 10, 25, 0, 59), 3) == [
        utc(2026, 10, 25, 0, 59, 30),
        utc(2026, 10, 25, 1, 0, 30),
        utc(2026, 10, 25, 1, 1, 30),
    ]


def test_rate_starts_at_start_date_and_stops_at_end_date():
    plan = timing("rate(1 hour)", start=utc(2026, 12, 1, 8), end=utc(2026, 12, 1, 10), anchor=utc(2026, 11, 26, 10, 3))
    assert times(plan, utc(2026, 11, 26, 11), 5) == [utc(2026, 12, 1, 8), utc(2026, 12, 1, 9), utc(2026, 12, 1, 10)]


# cron


def test_cron_names_steps_lists_and_ranges():
    plan = timing("cron(0/20 8-9 ? * MON-FRI *)")
    assert times(plan, utc(2026, 11, 27, 9, 30), 4) == [  # Friday 09:40, then Monday
        utc(2026, 11, 27, 9, 40),
        utc(2026, 11, 30, 8, 0),
        utc(2026, 11, 30, 8, 20),
        utc(2026, 11, 30, 8, 40),
    ]
    plan = timing("cron(15,45 6 1,15 JAN,JUL ? 2027-2028)")
    assert times(plan, utc(2026, 1, 1), 3) == [utc(2027, 1, 1, 6, 15), utc(2027, 1, 1, 6, 45), utc(2027, 1, 15, 6, 15)]


def test_cron_day_of_week_counts_from_sunday():
    [sunday] = times(timing("cron(0 12 ? * 1 *)"), utc(2026, 11, 26), 1)
    assert sunday.strftime("%A") == "Sunday"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 12 L * ? *)", [utc(2026, 1, 31, 12), utc(2026, 2, 28, 12), utc(2026, 3, 31, 12)]),
        ("cron(0 12 LW * ? *)", [utc(2026, 1, 30, 12), utc(2026, 2, 27, 12), utc(2026, 3, 31, 12)]),
        ("cron(0 12 15W * ? *)", [utc(2026, 1, 15, 12), utc(2026, 2, 16, 12), utc(2026, 3, 16, 12)]),
        ("cron(0 12 ? * 6L *)", [utc(2026, 1, 30, 12), utc(2026, 2, 27, 12), utc(2026, 3, 27, 12)]),
        ("cron(0 12 ? * MON#1 *)", [utc(2026, 1, 5, 12), utc(2026, 2, 2, 12), utc(2026, 3, 2, 12)]),
        ("cron(0 0 29 2 ? *)", [utc(2028, 2, 29), utc(2032, 2, 29), utc(2036, 2, 29)]),
    ],
)
def test_cron_special_days(expression, expected):
    assert times(timing(expression), utc(2026, 1, 1), 3) == expected


def test_cron_in_a_time_zone_follows_the_wall_clock_across_dst():
    plan = timing("cron(0 8 * * ? *)", "Europe/Berlin")
    assert times(plan, utc(2026, 3, 28), 2) == [utc(2026, 3, 28, 7), utc(2026, 3, 29, 6)]  # CET, then CEST


def test_cron_time_in_the_spring_forward_gap_fires_after_the_gap():
    plan = timing("cron(30 2 * * ? *)", "Europe/Berlin")
    assert times(plan, utc(2026, 3, 28, 12), 2) == [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]


def test_cron_time_that_exists_twice_fires_once():
    plan = timing("cron(30 2 * * ? *)", "Europe/Berlin")
    assert times(plan, utc(2026, 10, 24, 12), 2) == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    every_quarter = times(timing("cron(0/15 * * * ? *)", "Europe/Berlin"), utc(2026, 10, 24, 23, 55), 16)
    assert len(set(every_quarter)) == 16 and every_quarter == sorted(every_quarter)


def test_cron_that_never_matches_has_no_next_time():
    assert timing("cron(0 0 31 2 ? *)").next_after(utc(2026, 1, 1)) is None


# at


def test_at_fires_once_in_its_time_zone():
    plan = timing("at(2026-11-26T12:00:00)", "America/New_York")
    assert plan.next_after(utc(2026, 11, 26)) == utc(2026, 11, 26, 17)
    assert plan.next_after(utc(2026, 11, 26, 17)) is None


def test_at_ignores_start_and_end_dates():
    plan = timing("at(2026-11-26T12:00:00)", start=utc(2027, 1, 1), end=utc(2026, 1, 1))
    assert plan.next_after(utc(2026, 11, 26)) == utc(2026, 11, 26, 12)


# flexible windows


def test_flexible_offset_is_deterministic_and_within_the_window():
    window = dt.timedelta(minutes=15)
    offsets = {sched.flexible_offset(ARN, utc(2026, 11, 26, 10, minute), window) for minute in range(60)}
    assert all(dt.timedelta(0) <= offset < window for offset in offsets)
    assert len(offsets) > 30  # spread over the window
    assert sched.flexible_offset(ARN, utc(2026, 11, 26, 10), window) == sched.flexible_offset(
        ARN, utc(2026, 11, 26, 10), window
    )
    assert sched.flexible_offset(ARN, utc(2026, 11, 26, 10), dt.timedelta(0)) == dt.timedelta(0)


def test_flexible_schedule_fires_at_its_offset_not_before():
    plan = timing("at(2026-11-26T10:00:00)", window=dt.timedelta(minutes=10))
    offset = sched.flexible_offset(ARN, utc(2026, 11, 26, 10), plan.window)
    moment = utc(2026, 11, 26, 10) + offset
    low = utc(2026, 11, 26, 9)
    if offset:
        assert sched.decide(plan, ARN, low, moment - dt.timedelta(seconds=1), CATCH_UP).fire is None
    decision = sched.decide(plan, ARN, low, moment, CATCH_UP)
    assert decision.fire == utc(2026, 11, 26, 10) and decision.wake is None


# the missed-firing rule


def test_off_schedule_fires_exactly_at_its_time_and_tells_when_next():
    plan = timing("cron(0 * * * ? *)")
    low = utc(2026, 11, 26, 9, 30)
    early = sched.decide(plan, ARN, low, utc(2026, 11, 26, 9, 59, 59), CATCH_UP)
    assert early.fire is None and early.wake == utc(2026, 11, 26, 10)
    due = sched.decide(plan, ARN, low, utc(2026, 11, 26, 10), CATCH_UP)
    assert due == sched.Decision(
        fire=utc(2026, 11, 26, 10), missed=False, wake=utc(2026, 11, 26, 11), done=utc(2026, 11, 26, 10)
    )


def test_a_fired_time_never_fires_again():
    plan = timing("cron(0 * * * ? *)")
    after_firing = utc(2026, 11, 26, 10) + sched.EPSILON
    decision = sched.decide(plan, ARN, after_firing, utc(2026, 11, 26, 10, 0, 30), CATCH_UP)
    assert decision.fire is None and decision.wake == utc(2026, 11, 26, 11)


def test_short_downtime_delivers_the_missed_time_once_late():
    plan = timing("cron(0 * * * ? *)")
    decision = sched.decide(plan, ARN, utc(2026, 11, 26, 9, 59), utc(2026, 11, 26, 10, 0, 40), CATCH_UP)
    assert decision.fire == utc(2026, 11, 26, 10) and not decision.missed


def test_long_downtime_skips_what_was_missed_without_a_burst():
    plan = timing("cron(0 * * * ? *)")
    decision = sched.decide(plan, ARN, utc(2026, 11, 25, 18), utc(2026, 11, 26, 10, 30), CATCH_UP)
    assert decision.fire is None and decision.missed and decision.wake == utc(2026, 11, 26, 11)


def test_rate_1_minute_after_an_hour_off_fires_only_the_latest_time():
    plan = timing("rate(1 minute)", anchor=utc(2026, 11, 26, 8, 0, 0))
    decision = sched.decide(plan, ARN, utc(2026, 11, 26, 9, 0, 0), utc(2026, 11, 26, 10, 0, 20), CATCH_UP)
    assert decision.fire == utc(2026, 11, 26, 10, 0, 0)
    assert decision.missed and decision.wake == utc(2026, 11, 26, 10, 1, 0)


def test_times_before_the_schedule_took_effect_do_not_fire():
    plan = timing("cron(0 * * * ? *)")
    created = utc(2026, 11, 26, 10, 0, 30)  # created half a minute after the hour
    decision = sched.decide(plan, ARN, created, utc(2026, 11, 26, 10, 0, 31), CATCH_UP)
    assert decision.fire is None and not decision.missed and decision.wake == utc(2026, 11, 26, 11)


def test_without_catch_up_a_late_time_is_skipped():
    plan = timing("at(2026-11-26T10:00:00)")
    decision = sched.decide(plan, ARN, utc(2026, 11, 26, 9), utc(2026, 11, 26, 10, 0, 5), NO_CATCH_UP)
    assert decision.fire is None and decision.missed and decision.wake is None


def test_ended_schedule_has_nothing_left():
    plan = timing("rate(1 hour)", anchor=utc(2026, 11, 26, 8), end=utc(2026, 11, 26, 9, 30))
    decision = sched.decide(plan, ARN, utc(2026, 11, 26, 9) + sched.EPSILON, utc(2026, 11, 26, 10), CATCH_UP)
    assert decision == sched.Decision(fire=None, missed=False, wake=None, done=None)


# payload and retries


def test_context_attributes_are_substituted():
    text = (
        '{"arn": "<aws.scheduler.schedule-arn>", "at": "<aws.scheduler.scheduled-time>",'
        ' "id": "<aws.scheduler.execution-id>", "n": <aws.scheduler.attempt-number>}'
    )
    payload = json.loads(sched.substitute_context(text, ARN, utc(2026, 3, 22, 18, 59, 43, 120), "d32c5kddcf5bb8c3", 2))
    assert payload == {"arn": ARN, "at": "2026-03-22T18:59:43Z", "id": "d32c5kddcf5bb8c3", "n": 2}


def test_input_is_delivered_as_given():
    invocation = sched.Invocation(
        ARN, "default", "unit", "0" * 12, "us-east-1", {"Input": "  not json <x> "}, utc(2026, 11, 26)
    )
    assert invocation.payload("e") == "  not json <x> "
    assert dataclass_replace(invocation, target={}).payload("e") == "{}"


def dataclass_replace(invocation, **changes):
    import dataclasses

    return dataclasses.replace(invocation, **changes)


def test_backoff_doubles_up_to_a_minute():
    assert [sched.backoff(n) for n in (1, 2, 3, 4, 7, 8, 100)] == [1, 2, 4, 8, 60, 60, 60]


def test_errors_are_classified_retryable_or_final():
    def client_error(code, status):
        error = Exception(code)
        error.response = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return error

    assert not sched.classify(client_error("AWS.SimpleQueueService.NonExistentQueue", 400)).retryable
    assert not sched.classify(client_error("NotFound", 404)).retryable
    assert not sched.classify(client_error("InternalFailure", 501)).retryable  # service not enabled
    assert sched.classify(client_error("ThrottlingException", 400)).retryable
    assert sched.classify(client_error("InternalError", 500)).retryable
    assert sched.classify(ConnectionResetError("reset")).retryable


def test_to_utc_reads_what_moto_stores():
    assert sched.to_utc(1764151200) == utc(2025, 11, 26, 10)
    assert sched.to_utc("1764151200.5") == utc(2025, 11, 26, 10, 0, 0, 500000)
    assert sched.to_utc("2025-11-26T11:00:00+01:00") == utc(2025, 11, 26, 10)
    assert sched.to_utc(None) is None


def test_settings_default_to_enabled(tmp_path):
    assert sched.read_settings(str(tmp_path / "missing.json")) == {}
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"region": "us-east-1"}))
    assert sched.read_settings(str(config)) == {}
    config.write_text(json.dumps({"scheduler": {"enabled": False}}))
    assert sched.read_settings(str(config)) == {"enabled": False}


# the engine's bookkeeping, with moto-shaped schedules and a recording deliverer


class Recorder:
    """Takes the place of the internal AWS clients: records what would be delivered."""

    def __init__(self):
        self.delivered: list[tuple[str, str]] = []

    def deliver(self, invocation, payload):
        self.delivered.append((invocation.schedule_arn, payload))

    def dead_letter(self, invocation, payload, error):
        raise AssertionError(f"unexpected dead letter: {error}")


def moto_like(expression: str, name: str, created: dt.datetime, **fields) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        arn=f"arn:aws:scheduler:us-east-1:000000000000:schedule/default/{name}",
        name=name,
        group_name="default",
        schedule_expression=expression,
        schedule_expression_timezone=fields.pop("timezone", "UTC"),
        flexible_time_window={"Mode": "OFF"},
        target={"Arn": "arn:aws:sqs:us-east-1:000000000000:q", "Input": "<aws.scheduler.scheduled-time>"},
        state=fields.pop("state", "ENABLED"),
        start_date=None,
        end_date=None,
        action_after_completion=fields.pop("action_after_completion", None),
        creation_date=created.timestamp(),
        last_modified_date=created.timestamp(),
    )


def backends_of(*schedules) -> dict:
    group = types.SimpleNamespace(schedules={item.name: item for item in schedules})
    return {"000000000000": {"us-east-1": types.SimpleNamespace(schedule_groups={"default": group})}}


class Clock:
    def __init__(self, start: dt.datetime):
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now


def make_engine(backends, ledger_path, clock, recorder=None):
    recorder = recorder or Recorder()
    deleted = []
    engine = sched.Engine(
        backends=backends,
        deliverer=recorder,
        delete_schedule=deleted.append,
        ledger=sched.Ledger(str(ledger_path)),
        catch_up=CATCH_UP,
        clock=clock,
    )
    engine.ledger.load()
    engine._submit = engine._attempt  # deliver in the calling thread, so the test sees it at once
    return engine, recorder, deleted


def test_engine_fires_once_per_time_also_across_a_restart(tmp_path):
    clock = Clock(utc(2026, 11, 26, 9, 59, 50))
    backends = backends_of(moto_like("cron(* * * * ? *)", "every-minute", utc(2026, 11, 26, 9, 59, 40)))
    engine, recorder, _ = make_engine(backends, tmp_path / "ledger.json", clock)
    assert engine.tick() == utc(2026, 11, 26, 10).timestamp()
    clock.now = utc(2026, 11, 26, 10, 0, 0).timestamp()
    engine.tick()
    engine.tick()
    assert recorder.delivered == [
        (
            backends["000000000000"]["us-east-1"].schedule_groups["default"].schedules["every-minute"].arn,
            "2026-11-26T10:00:00Z",
        )
    ]
    # a new process with the same ledger (LocalStack restarted within the same minute) does not fire 10:00 again
    restarted, again, _ = make_engine(backends, tmp_path / "ledger.json", clock)
    clock.now = utc(2026, 11, 26, 10, 0, 30).timestamp()
    restarted.tick()
    assert again.delivered == []
    # down from 10:00:30 to 10:01:20: 10:01 is delivered once, late
    clock.now = utc(2026, 11, 26, 10, 1, 20).timestamp()
    restarted.tick()
    assert [payload for _, payload in again.delivered] == ["2026-11-26T10:01:00Z"]


def test_engine_skips_disabled_and_deletes_completed_one_time_schedules(tmp_path):
    clock = Clock(utc(2026, 11, 26, 10, 0, 0))
    disabled = moto_like("at(2026-11-26T10:00:05)", "off", utc(2026, 11, 26, 9), state="DISABLED")
    once = moto_like("at(2026-11-26T10:00:05)", "once", utc(2026, 11, 26, 9), action_after_completion="DELETE")
    engine, recorder, deleted = make_engine(backends_of(disabled, once), tmp_path / "ledger.json", clock)
    engine.tick()
    clock.now += 5
    engine.tick()
    assert [arn.rsplit("/", 1)[1] for arn, _ in recorder.delivered] == ["once"]
    assert [item.name for item in deleted] == ["once"]


def test_engine_starts_a_rate_schedule_within_a_second_of_its_creation(tmp_path):
    created = utc(2026, 11, 26, 10, 0, 0, 250000)
    clock = Clock(created)
    engine, recorder, _ = make_engine(backends_of(moto_like("rate(1 hour)", "r", created)), tmp_path / "l.json", clock)
    assert engine.tick() == utc(2026, 11, 26, 10, 0, 1).timestamp()
    clock.now = utc(2026, 11, 26, 10, 0, 1).timestamp()
    assert engine.tick() == utc(2026, 11, 26, 11, 0, 1).timestamp()
    assert [payload for _, payload in recorder.delivered] == ["2026-11-26T10:00:01Z"]


def test_engine_forgets_deleted_schedules(tmp_path):
    clock = Clock(utc(2026, 11, 26, 10))
    schedule = moto_like("rate(1 hour)", "hourly", utc(2026, 11, 26, 10))
    backends = backends_of(schedule)
    engine, recorder, _ = make_engine(backends, tmp_path / "ledger.json", clock)
    engine.tick()
    assert len(recorder.delivered) == 1  # a rate schedule starts right away
    backends["000000000000"]["us-east-1"].schedule_groups["default"].schedules.clear()
    engine.tick()
    assert json.loads((tmp_path / "ledger.json").read_text())["schedules"] == {}


def test_ledger_is_replaced_atomically(tmp_path):
    ledger = sched.Ledger(str(tmp_path / "deep" / "ledger.json"))
    ledger.put(ARN, {"done": "2026-11-26T10:00:00.000000+00:00"})
    ledger.save()
    assert [p.name for p in (tmp_path / "deep").iterdir()] == ["ledger.json"]
    again = sched.Ledger(ledger.path)
    again.load()
    assert again.get(ARN) == {"done": "2026-11-26T10:00:00.000000+00:00"}


def test_engine_reports_a_long_downtime_once_and_then_keeps_the_pace(tmp_path, caplog):
    clock = Clock(utc(2026, 11, 26, 9, 0, 0))
    backends = backends_of(moto_like("cron(0 * * * ? *)", "hourly", utc(2026, 11, 26, 8, 30)))
    engine, recorder, _ = make_engine(backends, tmp_path / "ledger.json", clock)
    engine.tick()
    assert [payload for _, payload in recorder.delivered] == ["2026-11-26T09:00:00Z"]
    # LocalStack is off from 09:30 to 14:20; a new process takes over with the same ledger
    clock.now = utc(2026, 11, 26, 14, 20).timestamp()
    restarted, again, _ = make_engine(backends, tmp_path / "ledger.json", clock)
    with caplog.at_level("WARNING", logger="bestshot_devenv.scheduler"):
        assert restarted.tick() == utc(2026, 11, 26, 15).timestamp()
        clock.now = utc(2026, 11, 26, 15).timestamp()
        restarted.tick()
        clock.now = utc(2026, 11, 26, 16).timestamp()
        restarted.tick()
    assert [payload for _, payload in again.delivered] == ["2026-11-26T15:00:00Z", "2026-11-26T16:00:00Z"]
    assert len([r for r in caplog.records if "skipped" in r.getMessage()]) == 1


def test_universal_target_action_names_become_method_names():
    assert [sched._snake(n) for n in ("SendMessage", "PutEvents", "GetQueueURL", "ListTagsForResource")] == [
        "send_message",
        "put_events",
        "get_queue_url",
        "list_tags_for_resource",
    ]


class Flaky(Recorder):
    """A target that is throttled every time, and a dead-letter queue that records."""

    def __init__(self):
        super().__init__()
        self.attempts: list[tuple[int, str]] = []
        self.dead: list[tuple[int, str, str]] = []

    def deliver(self, invocation, payload):
        self.attempts.append((invocation.attempt, payload))
        raise sched.DeliveryError("ThrottlingException", "slow down", retryable=True)

    def dead_letter(self, invocation, payload, error):
        self.dead.append((invocation.attempt, payload, error.code))


def test_engine_retries_with_backoff_then_dead_letters(tmp_path):
    clock = Clock(utc(2026, 11, 26, 10, 0, 0))
    schedule = moto_like("at(2026-11-26T10:00:00)", "flaky", utc(2026, 11, 26, 9))
    schedule.target = {
        "Arn": "arn:aws:sqs:us-east-1:000000000000:q",
        "Input": "try <aws.scheduler.attempt-number>",
        "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60},
    }
    flaky = Flaky()
    engine, _, _ = make_engine(backends_of(schedule), tmp_path / "ledger.json", clock, flaky)
    assert engine.tick() == clock.now + 1  # first retry after 1 s
    clock.now += 1
    assert engine.tick() == clock.now + 2  # then 2 s
    clock.now += 2
    assert engine.tick() is None
    assert flaky.attempts == [(1, "try 1"), (2, "try 2"), (3, "try 3")]
    assert flaky.dead == [(3, "try 3", "ThrottlingException")]
