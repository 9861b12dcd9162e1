"""bestshot.devenv: EventBridge Scheduler schedules that really fire, inside LocalStack 4.14.0.

LocalStack's community Scheduler stores schedules (in moto's ``scheduler_backends``) but never runs them. This
module closes that gap from inside LocalStack's own process: a ready.d init hook calls :func:`start`, which starts
one daemon thread. The thread reads every schedule of every account and region, works out when it is due, and
invokes its target through LocalStack's internal AWS clients, so whoever created the schedule (the role, an SDK,
the CLI, Terraform) sees it fire.

What a schedule gets
    * ``rate(N minute|minutes|hour|hours|day|days)``: first at the StartDate, or (without one) at the first whole
      second after the schedule was created (AWS: a rate schedule without StartDate "starts invoking immediately"),
      then every N units (fixed durations, so DST does not move them).
    * ``cron(min hour day-of-month month day-of-week year)`` in ``ScheduleExpressionTimezone``: ``*``, ``?``,
      lists, ranges, steps, names (JAN, MON), ``L``, ``W``, ``LW``, ``#``; days of the week 1-7 are SUN-SAT.
      Evaluated on the wall clock: a time that does not exist (spring forward) fires at the same offset after the
      gap (02:30 -> 03:30); a time that exists twice (fall back) fires once, at its first occurrence.
    * ``at(yyyy-mm-ddThh:mm:ss)`` in the schedule's time zone: once.
    * StartDate/EndDate bound recurring schedules (inclusive); ``State: DISABLED`` never fires;
      ``ActionAfterCompletion: DELETE`` deletes the schedule after its last firing.
    * ``FlexibleTimeWindow`` ``OFF`` fires at the time (the loop wakes for it); ``FLEXIBLE`` at an offset within
      the window that is derived from the schedule ARN and the scheduled time (a restart does not move it).
    * ``Input`` is delivered as given (the raw string), with ``<aws.scheduler.schedule-arn>``,
      ``<aws.scheduler.scheduled-time>``, ``<aws.scheduler.execution-id>`` and ``<aws.scheduler.attempt-number>``
      replaced. Without Input the target gets ``{}``.
    * ``RetryPolicy``: retryable failures (throttling, 5xx, connection) are retried with exponential backoff
      (1 s, 2 s, 4 s ... at most 60 s apart) within ``MaximumEventAgeInSeconds`` / ``MaximumRetryAttempts``;
      other failures (target missing, access, validation, a service LocalStack does not run) are final at once.
      A final failure goes to ``DeadLetterConfig.Arn`` (an SQS queue) with the payload as body and the message
      attributes ``X-Amz-Scheduler-Attempt``, ``-Error-Code``, ``-Error-Message``, ``-Group``, ``-Schedule``,
      ``-Schedule-Arn`` and ``-Target-Arn``.
    * Updates and deletes apply to the next firing: the engine rereads the schedules at least once a second.

Never twice, and missed firings
    A ledger (``/var/lib/localstack/bestshot-devenv/scheduler-ledger.json``, written atomically) keeps per schedule
    ARN the scheduled time up to which everything is done (fired or skipped) and when its current timing definition
    took effect. A scheduled time is recorded *before* its target is called, so it is delivered at most once, also
    across a restart.
    AWS does not back-fill missed invocations, and neither does this engine: when the engine was not running at a
    schedule's time (LocalStack stopped, restarting) only the most recent missed time is delivered, once and late,
    and only if at most ``catch_up_seconds`` (default 300) have passed since it was due; older missed times are
    skipped and logged. So a quick ``docker restart`` loses nothing, a night off delivers no burst, and times from
    before a schedule was created, enabled or given a new expression, time zone, window or dates never fire.

Targets
    A table maps the target ARN's service to one API call: ``sqs`` SendMessage (``SqsParameters.MessageGroupId``),
    ``sns`` Publish, ``events`` PutEvents (``EventBridgeParameters``), ``lambda`` Invoke (asynchronous),
    ``states`` StartExecution, ``kinesis`` PutRecord (``KinesisParameters.PartitionKey``), ``firehose`` PutRecord;
    universal targets ``arn:aws:scheduler:::aws-sdk:<service>:<apiAction>`` call that action with the Input's JSON
    as parameters. A target works when LocalStack runs its service (``SERVICES``); Lambda also needs runtime images.

Limits
    Delivery is at most once: a time is recorded before its target is called, and retries in flight live in
    memory only, so a restart in the middle of a retry series ends it. The execution role (``RoleArn``) is not
    assumed; LocalStack's community edition does not enforce IAM. moto's UpdateSchedule keeps the
    ``ActionAfterCompletion`` given at creation. KMS keys are ignored.

Settings (``/etc/bestshot-devenv/config.json``, key ``"scheduler"``, all optional)
    ``enabled`` (default true), ``catch_up_seconds`` (default 300).

The time logic at the top of this file imports nothing from LocalStack, so it can be tested on its own; everything
that touches LocalStack's internals is pinned to LocalStack 4.14.0 and imported lazily.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import functools
import hashlib
import heapq
import itertools
import json
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LOG = logging.getLogger("bestshot_devenv.scheduler")
PREFIX = "bestshot-devenv scheduler:"
PINNED_LOCALSTACK = "4.14.0"
CONFIG_PATH = "/etc/bestshot-devenv/config.json"
LEDGER_PATH = "/var/lib/localstack/bestshot-devenv/scheduler-ledger.json"
UTC = dt.UTC
EPSILON = dt.timedelta(microseconds=1)

DEFAULT_CATCH_UP_SECONDS = 300
DEFAULT_MAX_EVENT_AGE = 86400
DEFAULT_MAX_RETRY_ATTEMPTS = 185
MAX_BACKOFF_SECONDS = 60
POLL_SECONDS = 1.0


# --------------------------------------------------------------------------------------------------------------
# Time logic: pure functions and value objects (no LocalStack imports)
# --------------------------------------------------------------------------------------------------------------


class ExpressionError(ValueError):
    """A schedule expression or time zone this engine cannot evaluate."""


def to_utc(value: Any) -> dt.datetime | None:
    """A StartDate/EndDate/creation date as moto keeps it (epoch number, numeric or ISO 8601 string, datetime)
    as an aware UTC datetime; None for None or an empty string."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    try:
        return dt.datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        parsed = dt.datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def zone(name: str | None) -> ZoneInfo:
    """The time zone of a schedule (UTC when unset)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ExpressionError(f"unknown time zone {name!r}") from error


def localize(wall: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A wall-clock time in ``tz`` as UTC. A time in a spring-forward gap lands the gap's length later (02:30 ->
    03:30); a time that exists twice is its first occurrence (fold=0)."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def iso_z(moment: dt.datetime) -> str:
    """2026-03-22T18:59:43Z, the format of ``<aws.scheduler.scheduled-time>``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class At:
    """``at(yyyy-mm-ddThh:mm:ss)``: one wall-clock time."""

    wall: dt.datetime

    def next_after(self, moment: dt.datetime, tz: ZoneInfo, anchor: dt.datetime | None = None) -> dt.datetime | None:
        instant = localize(self.wall, tz)
        return instant if instant > moment else None


@dataclasses.dataclass(frozen=True)
class Rate:
    """``rate(N unit)``: every ``period`` from an anchor (the StartDate, else when the schedule was created)."""

    period: dt.timedelta

    def next_after(self, moment: dt.datetime, tz: ZoneInfo, anchor: dt.datetime | None = None) -> dt.datetime | None:
        if anchor is None:
            raise ExpressionError("a rate expression needs an anchor time")
        if moment < anchor:
            return anchor
        return anchor + ((moment - anchor) // self.period + 1) * self.period


_MONTHS = {name: number for number, name in enumerate(calendar.month_abbr) if name}
_MONTHS = {name.upper(): number for name, number in _MONTHS.items()}
_WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


def _number(token: str, names: dict[str, int], low: int, high: int, field: str) -> int:
    value = names.get(token.upper()) if not token.isdigit() else int(token)
    if value is None or not low <= value <= high:
        raise ExpressionError(f"cron {field}: {token!r} is not in {low}-{high}")
    return value


def _parse_set(text: str, low: int, high: int, field: str, names: dict[str, int] | None = None) -> frozenset[int]:
    """A cron field of numbers: ``*``, ``n``, ``a-b`` (wrapping when a > b), ``a/s``, ``a-b/s``, ``*/s``, lists."""
    names = names or {}
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1 or (step_text and not step_text.isdigit()):
            raise ExpressionError(f"cron {field}: bad step in {part!r}")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, last_text = base.split("-", 1)
            first, last = (_number(t, names, low, high, field) for t in (first_text, last_text))
        else:
            first = _number(base, names, low, high, field)
            last = high if step_text else first
        span = list(range(first, last + 1)) if first <= last else [*range(first, high + 1), *range(low, last + 1)]
        values.update(span[::step])
    return frozenset(values)


@dataclasses.dataclass(frozen=True)
class Cron:
    """``cron(minutes hours day-of-month month day-of-week year)`` as EventBridge Scheduler defines it."""

    minutes: frozenset[int]
    hours: frozenset[int]
    month_days: str  # raw field; '?' or '*' means "any", see _day_matches
    months: frozenset[int]
    week_days: str
    years: frozenset[int]

    @classmethod
    def parse(cls, body: str) -> Cron:
        fields = body.split()
        if len(fields) != 6:
            raise ExpressionError(f"cron needs 6 fields, got {len(fields)}: {body!r}")
        minutes, hours, month_days, months, week_days, years = fields
        cron = cls(
            minutes=_parse_set(minutes, 0, 59, "minutes"),
            hours=_parse_set(hours, 0, 23, "hours"),
            month_days=month_days.upper(),
            months=_parse_set(months, 1, 12, "month", _MONTHS),
            week_days=week_days.upper(),
            years=_parse_set(years, 1970, 2199, "year"),
        )
        for day in range(1, 29):  # validate the day fields once, on a known month
            cron._day_matches(dt.date(2001, 2, day))
        return cron

    def _month_day_matches(self, day: dt.date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        for part in self.month_days.split(","):
            if part == "L":
                if day.day == last:
                    return True
            elif part == "LW":
                if day == _nearest_weekday(day.replace(day=last)):
                    return True
            elif part.endswith("W"):
                wanted = int(part[:-1])
                if not 1 <= wanted <= 31:
                    raise ExpressionError(f"cron day-of-month: {part!r}")
                if wanted <= last and day == _nearest_weekday(day.replace(day=wanted)):
                    return True
            elif day.day in _parse_set(part, 1, 31, "day-of-month"):
                return True
        return False

    def _week_day_matches(self, day: dt.date) -> bool:
        aws_weekday = (day.isoweekday() % 7) + 1  # SUN=1 ... SAT=7
        last = calendar.monthrange(day.year, day.month)[1]
        for part in self.week_days.split(","):
            if part == "L":
                if aws_weekday == 7:
                    return True
            elif "#" in part:
                weekday_text, nth_text = part.split("#", 1)
                nth = int(nth_text)
                if not 1 <= nth <= 5:
                    raise ExpressionError(f"cron day-of-week: {part!r}")
                if (
                    aws_weekday == _number(weekday_text, _WEEKDAYS, 1, 7, "day-of-week")
                    and (day.day - 1) // 7 + 1 == nth
                ):
                    return True
            elif part.endswith("L"):
                if aws_weekday == _number(part[:-1], _WEEKDAYS, 1, 7, "day-of-week") and day.day + 7 > last:
                    return True
            elif aws_weekday in _parse_set(part, 1, 7, "day-of-week", _WEEKDAYS):
                return True
        return False

    def _day_matches(self, day: dt.date) -> bool:
        any_month_day = self.month_days in ("?", "*")
        any_week_day = self.week_days in ("?", "*")
        if any_month_day and any_week_day:
            return True
        if any_week_day:
            return self._month_day_matches(day)
        if any_month_day:
            return self._week_day_matches(day)
        return self._month_day_matches(day) or self._week_day_matches(day)

    def _days_from(self, first: dt.date) -> Iterator[dt.date]:
        """Matching local dates from ``first`` on, month by month, skipping months and years that cannot match."""
        year, month = first.year, first.month
        while year <= 2199:
            if year not in self.years:
                year, month = year + 1, 1
                continue
            if month in self.months:
                start = first.day if (year, month) == (first.year, first.month) else 1
                for number in range(start, calendar.monthrange(year, month)[1] + 1):
                    day = dt.date(year, month, number)
                    if self._day_matches(day):
                        yield day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def next_after(self, moment: dt.datetime, tz: ZoneInfo, anchor: dt.datetime | None = None) -> dt.datetime | None:
        wall_now = moment.astimezone(tz).replace(tzinfo=None)
        times = sorted(dt.time(hour, minute) for hour in self.hours for minute in self.minutes)
        slack = dt.timedelta(hours=3)  # more than any UTC offset change, so gaps and folds cannot hide a time
        best: dt.datetime | None = None
        for day in self._days_from((wall_now - slack).date()):
            for clock in times:
                wall = dt.datetime.combine(day, clock)
                if wall < wall_now - slack:
                    continue
                if best is not None and wall > wall_now + slack:
                    return best
                instant = localize(wall, tz)
                if instant > moment and (best is None or instant < best):
                    best = instant
            if best is not None and dt.datetime.combine(day, dt.time()) > wall_now + slack:
                return best
        return best


def _nearest_weekday(day: dt.date) -> dt.date:
    """The weekday nearest to ``day`` within its month (the ``W`` of cron)."""
    if day.weekday() == 5:  # Saturday -> Friday, unless that leaves the month
        return day - dt.timedelta(days=1) if day.day > 1 else day + dt.timedelta(days=2)
    if day.weekday() == 6:  # Sunday -> Monday, unless that leaves the month
        last = calendar.monthrange(day.year, day.month)[1]
        return day + dt.timedelta(days=1) if day.day < last else day - dt.timedelta(days=2)
    return day


_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def parse_expression(expression: str) -> At | Rate | Cron:
    """The evaluator of an ``at()``, ``rate()`` or ``cron()`` schedule expression."""
    text = expression.strip()
    if match := _AT.match(text):
        return At(dt.datetime.fromisoformat(match.group(1)))
    if match := _RATE.match(text):
        value = int(match.group(1))
        if value < 1:
            raise ExpressionError(f"rate must be positive: {expression!r}")
        return Rate(dt.timedelta(seconds=value * _UNITS[match.group(2).rstrip("s")]))
    if match := _CRON.match(text):
        return Cron.parse(match.group(1))
    raise ExpressionError(f"not an at(), rate() or cron() expression: {expression!r}")


@dataclasses.dataclass(frozen=True)
class Timing:
    """When a schedule fires: its expression in its time zone, bounded by StartDate/EndDate (recurring only),
    anchored (rate) and spread over its flexible window."""

    expression: At | Rate | Cron
    tz: ZoneInfo
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    anchor: dt.datetime | None = None
    window: dt.timedelta = dt.timedelta(0)

    @property
    def one_time(self) -> bool:
        return isinstance(self.expression, At)

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        """The first scheduled time strictly after ``moment``, or None when there is none."""
        if not self.one_time and self.start is not None and moment < self.start:
            moment = self.start - EPSILON
        anchor = self.start or self.anchor
        found = self.expression.next_after(moment, self.tz, anchor)
        if found is not None and not self.one_time and self.end is not None and found > self.end:
            return None
        return found


def flexible_offset(arn: str, scheduled: dt.datetime, window: dt.timedelta) -> dt.timedelta:
    """Where in its flexible window a scheduled time fires: whole seconds in [0, window), derived from the schedule
    ARN and the time only, so every process (and a restarted one) picks the same moment."""
    seconds = int(window.total_seconds())
    if seconds <= 0:
        return dt.timedelta(0)
    digest = hashlib.sha256(f"{arn}|{iso_z(scheduled)}".encode()).digest()
    return dt.timedelta(seconds=int.from_bytes(digest[:8], "big") % seconds)


@dataclasses.dataclass(frozen=True)
class Decision:
    """What to do with one schedule now: ``fire`` the scheduled time that is due (None: nothing), whether older
    times were ``missed`` (skipped), when to look again (``wake``: the next fire moment; None: never), and up to
    which scheduled time everything is now ``done`` (fired or skipped; None: unchanged)."""

    fire: dt.datetime | None
    missed: bool
    wake: dt.datetime | None
    done: dt.datetime | None = None


def decide(timing: Timing, arn: str, low: dt.datetime, now: dt.datetime, catch_up: dt.timedelta) -> Decision:
    """Applies the missed-firing rule to one schedule.

    ``low`` is the earliest scheduled time that may still fire (after the last one fired, and not before the
    schedule's current definition took effect). Of the times from ``low`` whose fire moment (time + flexible
    offset) has come, only the latest fires, and only if it is at most ``catch_up`` late; the others are missed.
    """

    def fire_moment(scheduled: dt.datetime) -> dt.datetime:
        return scheduled + flexible_offset(arn, scheduled, timing.window)

    floor = max(low, now - catch_up - timing.window)  # anything older cannot be within the catch-up time
    missed, done = False, None
    if floor > low:
        skipped = timing.next_after(low - EPSILON)
        if skipped is not None and skipped < floor:
            missed, done = True, floor - EPSILON
    due = None
    upcoming = timing.next_after(floor - EPSILON)
    while upcoming is not None and fire_moment(upcoming) <= now:
        missed = missed or due is not None
        due = done = upcoming
        upcoming = timing.next_after(upcoming)
    if due is not None and now - fire_moment(due) > catch_up:
        due, missed = None, True
    wake = fire_moment(upcoming) if upcoming is not None else None
    return Decision(fire=due, missed=missed, wake=wake, done=done)


def substitute_context(text: str, arn: str, scheduled: dt.datetime, execution_id: str, attempt: int) -> str:
    """The Input with the context attributes EventBridge Scheduler documents replaced."""
    replacements = {
        "<aws.scheduler.schedule-arn>": arn,
        "<aws.scheduler.scheduled-time>": iso_z(scheduled),
        "<aws.scheduler.execution-id>": execution_id,
        "<aws.scheduler.attempt-number>": str(attempt),
    }
    for token, value in replacements.items():
        text = text.replace(token, value)
    return text


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, 4, ... at most MAX_BACKOFF_SECONDS)."""
    return float(min(2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


# --------------------------------------------------------------------------------------------------------------
# The ledger: what fired, kept across restarts
# --------------------------------------------------------------------------------------------------------------


class Ledger:
    """Per schedule ARN: the timing definition it was last seen with (``fingerprint``), since when that definition
    applies (``since``), the rate anchor (``anchor``) and the scheduled time up to which everything is done, fired
    or skipped (``done``). Saved as JSON, atomically (write beside, fsync, rename)."""

    def __init__(self, path: str):
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
            self.entries = dict(data.get("schedules", {}))
        except FileNotFoundError:
            self.entries = {}
        except (OSError, ValueError) as error:
            LOG.warning("%s ledger %s unreadable (%s); starting a new one", PREFIX, self.path, error)
            self.entries = {}

    def save(self) -> None:
        with self._lock:
            payload = json.dumps({"version": 1, "schedules": self.entries}, indent=1, sort_keys=True)
            directory = os.path.dirname(self.path)
            os.makedirs(directory, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".scheduler-ledger.", dir=directory)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    stream.write(payload)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.replace(temporary, self.path)
            except BaseException:
                if os.path.exists(temporary):
                    os.unlink(temporary)
                raise

    def get(self, arn: str) -> dict[str, Any] | None:
        return self.entries.get(arn)

    def put(self, arn: str, entry: dict[str, Any]) -> None:
        self.entries[arn] = entry

    def drop(self, arn: str) -> bool:
        return self.entries.pop(arn, None) is not None


# --------------------------------------------------------------------------------------------------------------
# Delivery: one API call per target service, through LocalStack's internal clients
# --------------------------------------------------------------------------------------------------------------

RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalException",
        "InternalFailure",
        "InternalServerError",
    }
)


class DeliveryError(Exception):
    """A failed target invocation: the AWS error code and message, and whether trying again can help."""

    def __init__(self, code: str, message: str, retryable: bool):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.retryable = code, message, retryable


def classify(error: Exception) -> DeliveryError:
    """A DeliveryError for whatever a client call raised (botocore errors are duck-typed)."""
    if isinstance(error, DeliveryError):
        return error
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = str(response["Error"].get("Code") or "Unknown")
        message = str(response["Error"].get("Message") or error)
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if status == 501:  # LocalStack: the service is not enabled (SERVICES) or not implemented
            return DeliveryError(code, message, retryable=False)
        return DeliveryError(code, message, retryable=code in RETRYABLE_CODES or status >= 500)
    if type(error).__module__.startswith(("botocore", "urllib3", "requests")) or isinstance(error, OSError):
        return DeliveryError(type(error).__name__, str(error), retryable=True)
    return DeliveryError(type(error).__name__, str(error), retryable=False)


@dataclasses.dataclass(frozen=True)
class Invocation:
    """One attempt to call a schedule's target for one scheduled time."""

    schedule_arn: str
    group: str
    name: str
    account: str
    region: str
    target: dict[str, Any]
    scheduled: dt.datetime
    attempt: int = 1
    first_attempt: float = 0.0  # time.time() of attempt 1

    def payload(self, execution_id: str) -> str:
        raw = self.target.get("Input")
        text = raw if isinstance(raw, str) else ("{}" if raw is None else json.dumps(raw))
        return substitute_context(text, self.schedule_arn, self.scheduled, execution_id, self.attempt)


def split_arn(arn: str) -> dict[str, str]:
    """partition/service/region/account/resource of an ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise DeliveryError("ValidationException", f"not an ARN: {arn!r}", retryable=False)
    return dict(zip(("arn", "partition", "service", "region", "account", "resource"), parts, strict=True))


UNIVERSAL_SERVICES = {"eventbridge": "events", "sfn": "stepfunctions"}


class Deliverer:
    """Calls targets through LocalStack's internal clients.

    ``connect`` is an ``InternalClientFactory`` (what ``localstack.aws.connect.connect_to`` is) whose botocore
    config turns the clients' own retries off and bounds their timeouts: the engine retries by the schedule's
    RetryPolicy, and a hung target must not hold a sender thread for minutes."""

    def __init__(self, connect: Callable[..., Any]):
        self.connect = connect
        self.senders: dict[str, Callable[[Invocation, dict[str, str], str], None]] = {
            "sqs": self._sqs,
            "sns": self._sns,
            "events": self._events,
            "lambda": self._lambda,
            "states": self._states,
            "kinesis": self._kinesis,
            "firehose": self._firehose,
        }

    def client(self, service: str, account: str, region: str):
        return self.connect(aws_access_key_id=account, region_name=region).get_client(service)

    def deliver(self, invocation: Invocation, payload: str) -> None:
        arn = invocation.target.get("Arn", "")
        parts = split_arn(arn)
        try:
            if parts["service"] == "scheduler" and parts["resource"].startswith("aws-sdk:"):
                self._universal(invocation, parts, payload)
                return
            sender = self.senders.get(parts["service"])
            if sender is None:
                raise DeliveryError(
                    "UnsupportedTarget", f"no sender for {parts['service']} targets in this engine", retryable=False
                )
            sender(invocation, parts, payload)
        except Exception as error:
            raise classify(error) from error

    def _target_client(self, service: str, invocation: Invocation, parts: dict[str, str]):
        return self.client(service, parts["account"] or invocation.account, parts["region"] or invocation.region)

    def _sqs(self, invocation: Invocation, parts: dict[str, str], payload: str) -> None:
        sqs = self._target_client("sqs", invocation, parts)
        queue_url = sqs.get_queue_url(QueueName=parts["resource"], QueueOwnerAWSAccountId=parts["account"])["QueueUrl"]
        request = {"QueueUrl": queue_url, "MessageBody": payload}
        if group := (invocation.target.get("SqsParameters") or {}).get("MessageGroupId"):
            request["MessageGroupId"] = group
        sqs.send_message(**request)

    def _sns(self, invocation: Invocation, parts: dict[str, str], payload: str) -> None:
        self._target_client("sns", invocation, parts).publish(TopicArn=invocation.target["Arn"], Message=payload)

    def _events(self, invocation: Invocation, parts: dict[str, str], payload: str) -> None:
        parameters = invocation.target.get("EventBridgeParameters") or {}
        entry = {
            "EventBusName": invocation.target["Arn"],
            "Source": parameters.get("Source", "aws.scheduler"),
            "DetailType": parameters.get("DetailType", "Scheduled Event"),
            "Detail": payload,
            "Resources": [invocation.schedule_arn],
        }
        answer = self._target_client("events", invocation, parts).put_events(Entries=[entry])
        if answer.get("FailedEntryCount"):
            failed = answer["Entries"][0]
            code = failed.get("ErrorCode", "PutEventsFailed")
            raise DeliveryError(code, failed.get("ErrorMessage", ""), retryable=code in RETRYABLE_CODES)

    def _lambda(self, invocation: Invocation, parts: dict[str, str], payload: str) -> None:
        self._target_client("lambda", invocation, parts).invoke(
            FunctionName=invocation.target["Arn"], InvocationType="Event", Payload=payload.encode()
        )

    def _states(self, invocation: Invocation, parts: dict[str, str], payload: str) -> None:
        self._target_client("stepfunctions", invocation, parts).start_execution(
            stateMachineArn=invocation.target["Arn"], input=payload
        )

    def _kinesis(self, invocation: Invocation, parts: dict[str, str], payload: str) -> None:
        key = (invocation.target.get("KinesisParameters") or {}).get("PartitionKey") or invocation.name
        self._target_client("kinesis", invocation, parts).put_record(
            StreamARN=invocation.target["Arn"], Data=payload.encode(), PartitionKey=key
        )

    def _firehose(self, invocation: Invocation, parts: dict[str, str], payload: str) -> None:
        stream = parts["resource"].split("/", 1)[-1]
        self._target_client("firehose", invocation, parts).put_record(
            DeliveryStreamName=stream, Record={"Data": payload.encode()}
        )

    def _universal(self, invocation: Invocation, parts: dict[str, str], payload: str) -> None:
        """``arn:aws:scheduler:::aws-sdk:<service>:<apiAction>``: the Input (JSON) is the request."""
        _, service, action = [*parts["resource"].split(":"), "", ""][:3]
        client = self.client(UNIVERSAL_SERVICES.get(service, service), invocation.account, invocation.region)
        operations = {name.lower(): name for name in client.meta.service_model.operation_names}
        operation = operations.get(action.lower())
        if operation is None:
            raise DeliveryError("ValidationException", f"{service} has no action {action!r}", retryable=False)
        try:
            parameters = json.loads(payload) if payload.strip() else {}
        except ValueError as error:
            raise DeliveryError("ValidationException", f"Input is not JSON: {error}", retryable=False) from error
        method = getattr(client, _snake(operation))
        method(**parameters)

    def dead_letter(self, invocation: Invocation, payload: str, error: DeliveryError) -> None:
        """Sends the failed payload to the schedule's dead-letter queue, with the attributes AWS documents."""
        dlq_arn = (invocation.target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq_arn:
            return
        parts = split_arn(dlq_arn)
        sqs = self.client("sqs", parts["account"], parts["region"])
        queue_url = sqs.get_queue_url(QueueName=parts["resource"], QueueOwnerAWSAccountId=parts["account"])["QueueUrl"]

        def text(value: str) -> dict[str, str]:
            return {"DataType": "String", "StringValue": value[:4096] or "-"}

        attributes = {
            "X-Amz-Scheduler-Attempt": {"DataType": "Number", "StringValue": str(invocation.attempt)},
            "X-Amz-Scheduler-Error-Code": text(error.code),
            "X-Amz-Scheduler-Error-Message": text(error.message),
            "X-Amz-Scheduler-Group": text(invocation.group),
            "X-Amz-Scheduler-Schedule": text(invocation.name),
            "X-Amz-Scheduler-Schedule-Arn": text(invocation.schedule_arn),
            "X-Amz-Scheduler-Target-Arn": text(invocation.target.get("Arn", "")),
        }
        sqs.send_message(QueueUrl=queue_url, MessageBody=payload, MessageAttributes=attributes)


def _snake(name: str) -> str:
    """SendMessage -> send_message (botocore's method names)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)).lower()


# --------------------------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What the engine needs of one stored schedule, copied out of moto's model."""

    arn: str
    account: str
    region: str
    group: str
    name: str
    expression: str
    timezone: str
    state: str
    start: dt.datetime | None
    end: dt.datetime | None
    window: dt.timedelta
    target: dict[str, Any]
    action_after_completion: str
    created: dt.datetime
    modified: dt.datetime

    @functools.cached_property
    def fingerprint(self) -> str:
        """Identifies the timing definition (not the target): a change resets where firing may resume."""
        parts = [self.expression, self.timezone, self.state, str(self.start), str(self.end), str(self.window)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def snapshots(backends: Any, cache: dict[tuple, Snapshot] | None = None) -> list[Snapshot]:
    """Every schedule in moto's ``scheduler_backends`` (account -> region -> backend -> groups -> schedules).

    With a ``cache`` (kept by the caller between calls), a schedule whose moto object and LastModificationDate are
    unchanged is not copied again: moto sets that date on every update, so reading stays cheap while idle."""
    found, seen = [], {}
    for account, regions in list(backends.items()):
        for region, backend in list(regions.items()):
            for group in list(backend.schedule_groups.values()):
                for schedule in list(group.schedules.values()):
                    marker = (id(schedule), schedule.arn, schedule.last_modified_date)
                    item = cache.get(marker) if cache is not None else None
                    if item is None:
                        item = _snapshot(account, region, schedule)
                    seen[marker] = item
                    found.append(item)
    if cache is not None:
        cache.clear()
        cache.update(seen)
    return found


def _snapshot(account: str, region: str, schedule: Any) -> Snapshot:
    window = schedule.flexible_time_window or {}
    minutes = window.get("MaximumWindowInMinutes") if window.get("Mode") == "FLEXIBLE" else 0
    return Snapshot(
        arn=schedule.arn,
        account=account,
        region=region,
        group=schedule.group_name,
        name=schedule.name,
        expression=schedule.schedule_expression or "",
        timezone=schedule.schedule_expression_timezone or "UTC",
        state=schedule.state or "ENABLED",
        start=to_utc(schedule.start_date),
        end=to_utc(schedule.end_date),
        window=dt.timedelta(minutes=float(minutes or 0)),
        target=json.loads(json.dumps(schedule.target, default=str)),
        action_after_completion=schedule.action_after_completion or "NONE",
        created=to_utc(schedule.creation_date),
        modified=to_utc(schedule.last_modified_date),
    )


class Engine:
    """The loop: reads the schedules, fires what is due, retries failures, sleeps until the next moment (at most
    POLL_SECONDS, so new, changed and deleted schedules are noticed)."""

    def __init__(
        self,
        backends: Any,
        deliverer: Deliverer,
        delete_schedule: Callable[[Snapshot], None],
        ledger: Ledger,
        catch_up: dt.timedelta,
        clock: Callable[[], float] = time.time,
    ):
        self.backends = backends
        self.deliverer = deliverer
        self.delete_schedule = delete_schedule
        self.ledger = ledger
        self.catch_up = catch_up
        self.clock = clock
        self.stopping = threading.Event()
        self.wakeup = threading.Event()
        self.workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bestshot-scheduler-send")
        self._retries: list[tuple[float, int, Invocation]] = []
        self._retry_lock = threading.Lock()
        self._sequence = itertools.count()
        self._plans: dict[str, tuple[tuple, dt.datetime | None]] = {}  # arn -> (what it was computed from, wake)
        self._copies: dict[tuple, Snapshot] = {}  # see snapshots()
        self._seen: set[str] = set(ledger.entries)  # ledger entries of schedules gone by now are dropped at once
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bestshot-devenv-scheduler", daemon=True)
        self._thread.start()

    def stop(self, wait: bool = False) -> None:
        """Stops firing. With ``wait``, lets the current pass end and the deliveries under way finish (LocalStack
        still accepts internal calls while it stops), so that what they delivered is in the state saved next."""
        self.stopping.set()
        self.wakeup.set()
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self.workers.shutdown(wait=wait, cancel_futures=not wait)

    def _run(self) -> None:
        LOG.info(
            "%s started (thread %d, catch-up %ss, ledger %s)",
            PREFIX,
            threading.get_native_id(),
            int(self.catch_up.total_seconds()),
            self.ledger.path,
        )
        while not self.stopping.is_set():
            try:
                wake = self.tick()
            except Exception:
                LOG.exception("%s tick failed", PREFIX)
                wake = None
            delay = POLL_SECONDS if wake is None else min(POLL_SECONDS, max(0.0, wake - self.clock()))
            self.wakeup.wait(delay)
            self.wakeup.clear()

    # one pass
    def tick(self) -> float | None:
        """Fires every schedule that is due and every retry whose time came; returns the next moment (epoch
        seconds) something is due, or None."""
        now = dt.datetime.fromtimestamp(self.clock(), UTC)
        current = {item.arn: item for item in self._read_schedules()}
        self._forget_deleted(current)
        changed_ledger = False
        wake: dt.datetime | None = None
        for item in current.values():
            if self.stopping.is_set():  # LocalStack is stopping: what is due now is fired after the next start
                break
            try:
                changed_ledger |= self._track(item)
                moment = self._consider(item, now)
            except Exception as error:  # noqa: BLE001 - one bad schedule must not stop the others
                key = ("error", item.fingerprint, item.modified)
                if self._plans.get(item.arn, ((), None))[0] != key:
                    LOG.warning("%s schedule %s cannot fire: %s", PREFIX, item.arn, error)
                    self._plans[item.arn] = (key, None)
                continue
            if moment is not None and (wake is None or moment < wake):
                wake = moment
        if changed_ledger:
            self.ledger.save()
        retry_due = self._run_retries()
        moments = [m.timestamp() for m in (wake,) if m is not None] + ([retry_due] if retry_due else [])
        return min(moments) if moments else None

    def _read_schedules(self) -> list[Snapshot]:
        for _ in range(3):  # moto's dicts may change under us; copying is cheap, so try again
            try:
                return snapshots(self.backends, self._copies)
            except RuntimeError:
                time.sleep(0.01)
        return snapshots(self.backends, self._copies)

    def _forget_deleted(self, current: dict[str, Snapshot]) -> None:
        gone = self._seen - current.keys()
        for arn in gone:
            self._seen.discard(arn)
            self._plans.pop(arn, None)
            if self.ledger.drop(arn):
                LOG.info("%s schedule %s deleted; forgotten", PREFIX, arn)
        if gone:
            self.ledger.save()

    def _track(self, item: Snapshot) -> bool:
        """Records a schedule's timing definition in the ledger when it is new or changed; True if it changed."""
        self._seen.add(item.arn)
        entry = self.ledger.get(item.arn)
        if entry and entry.get("fingerprint") == item.fingerprint:
            return False
        anchor = item.start or whole_second_from(item.modified if entry else item.created)  # rate schedules only
        self.ledger.put(
            item.arn,
            {
                "fingerprint": item.fingerprint,
                "since": iso_micro(item.modified if entry else min(item.created, item.modified)),
                "anchor": iso_micro(anchor),
                "done": (entry or {}).get("done"),
            },
        )
        return True

    def _consider(self, item: Snapshot, now: dt.datetime) -> dt.datetime | None:
        """Fires the schedule if due; returns its next fire moment."""
        entry = self.ledger.get(item.arn)
        key = (item.fingerprint, item.modified, entry.get("done"))  # an update always moves ``modified``
        cached_key, cached_wake = self._plans.get(item.arn, ((), None))
        if cached_key == key and (cached_wake is None or now < cached_wake):
            return cached_wake  # nothing due before cached_wake (None: never, until the schedule changes)
        if item.state != "ENABLED":
            self._plans[item.arn] = (key, None)
            return None
        timing = Timing(
            expression=parse_expression(item.expression),
            tz=zone(item.timezone),
            start=item.start,
            end=item.end,
            anchor=from_iso(entry["anchor"]),
            window=item.window,
        )
        low = from_iso(entry["since"])
        if entry.get("done"):
            low = max(low, from_iso(entry["done"]) + EPSILON)
        decision = decide(timing, item.arn, low, now, self.catch_up)
        if decision.missed:
            LOG.warning("%s schedule %s: times missed while the engine was not running were skipped", PREFIX, item.arn)
        if decision.done is not None:
            entry["done"] = iso_micro(decision.done)
            self.ledger.save()  # before the call: one scheduled time is delivered at most once
        if decision.fire is not None:
            self._submit(
                Invocation(
                    schedule_arn=item.arn,
                    group=item.group,
                    name=item.name,
                    account=item.account,
                    region=item.region,
                    target=item.target,
                    scheduled=decision.fire,
                    first_attempt=self.clock(),
                )
            )
        key = (*key[:2], entry.get("done"))
        self._plans[item.arn] = (key, decision.wake)
        if decision.wake is None and item.action_after_completion == "DELETE":  # no time left: completed
            self._delete(item)
        return decision.wake

    def _delete(self, item: Snapshot) -> None:
        try:
            self.delete_schedule(item)
            LOG.info("%s schedule %s completed and deleted (ActionAfterCompletion DELETE)", PREFIX, item.arn)
        except Exception as error:  # noqa: BLE001 - logged; the schedule stays
            LOG.warning("%s could not delete completed schedule %s: %s", PREFIX, item.arn, error)

    # delivery and retries
    def _submit(self, invocation: Invocation) -> None:
        self.workers.submit(self._attempt, invocation)

    def _attempt(self, invocation: Invocation) -> None:
        execution_id = uuid.uuid4().hex[:16]
        payload = invocation.payload(execution_id)
        try:
            self.deliverer.deliver(invocation, payload)
            LOG.info(
                "%s %s fired for %s (attempt %d) -> %s",
                PREFIX,
                invocation.schedule_arn,
                iso_z(invocation.scheduled),
                invocation.attempt,
                invocation.target.get("Arn"),
            )
            return
        except DeliveryError as error:
            failure = error
        except Exception as error:  # noqa: BLE001 - classified below
            failure = classify(error)
        policy = invocation.target.get("RetryPolicy") or {}
        max_attempts = int(policy.get("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS)) + 1
        max_age = float(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE))
        delay = backoff(invocation.attempt)
        retry_at = self.clock() + delay
        if failure.retryable and invocation.attempt < max_attempts and retry_at - invocation.first_attempt <= max_age:
            LOG.info(
                "%s %s attempt %d failed (%s); retry in %ss",
                PREFIX,
                invocation.schedule_arn,
                invocation.attempt,
                failure,
                delay,
            )
            with self._retry_lock:
                heapq.heappush(
                    self._retries,
                    (retry_at, next(self._sequence), dataclasses.replace(invocation, attempt=invocation.attempt + 1)),
                )
            self.wakeup.set()
            return
        LOG.warning(
            "%s %s failed for %s after %d attempt(s): %s",
            PREFIX,
            invocation.schedule_arn,
            iso_z(invocation.scheduled),
            invocation.attempt,
            failure,
        )
        try:
            self.deliverer.dead_letter(invocation, payload, failure)
        except Exception as error:  # noqa: BLE001 - logged; nothing else to do with it
            LOG.warning("%s dead-letter queue of %s not reachable: %s", PREFIX, invocation.schedule_arn, error)

    def _run_retries(self) -> float | None:
        """Submits the retries whose time came; returns when the next one is due (epoch seconds), or None."""
        now = self.clock()
        with self._retry_lock:
            due = []
            while self._retries and self._retries[0][0] <= now:
                due.append(heapq.heappop(self._retries)[2])
        for invocation in due:
            self._submit(invocation)
        with self._retry_lock:
            return self._retries[0][0] if self._retries else None


def whole_second_from(moment: dt.datetime) -> dt.datetime:
    """The first whole second at or after ``moment`` (rate schedules tick on whole seconds)."""
    floor = moment.replace(microsecond=0)
    return floor if floor == moment else floor + dt.timedelta(seconds=1)


def iso_micro(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


# --------------------------------------------------------------------------------------------------------------
# Entry point for the ready.d hook
# --------------------------------------------------------------------------------------------------------------

_engine: Engine | None = None


def read_settings(path: str = CONFIG_PATH) -> dict[str, Any]:
    """The ``scheduler`` settings of config.json; {} when the file or the key is missing."""
    try:
        with open(path, encoding="utf-8") as handle:
            settings = json.load(handle).get("scheduler") or {}
    except FileNotFoundError:
        return {}
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: 'scheduler' must be an object, got {settings!r}")
    return settings


def start() -> Engine | None:
    """Starts the engine in a daemon thread and returns at once; never raises. Does nothing when disabled in
    config.json, when already running, or on a LocalStack other than 4.14.0 (whose internals it was not built for)."""
    global _engine
    try:
        if _engine is not None:
            return _engine
        from localstack import version

        if version.__version__ != PINNED_LOCALSTACK:
            LOG.warning(
                "%s LocalStack %s is not %s, whose internals this engine is built on: schedules will not fire",
                PREFIX,
                version.__version__,
                PINNED_LOCALSTACK,
            )
            return None
        settings = read_settings()
        if not settings.get("enabled", True):
            LOG.info("%s disabled in %s: schedules will not fire", PREFIX, CONFIG_PATH)
            return None
        from botocore.config import Config
        from localstack import config
        from localstack.aws.connect import InternalClientFactory
        from moto.scheduler.models import scheduler_backends

        def delete_schedule(item: Snapshot) -> None:
            scheduler_backends[item.account][item.region].delete_schedule(item.group, item.name)

        ledger = Ledger(LEDGER_PATH)
        ledger.load()
        engine = Engine(
            backends=scheduler_backends,
            deliverer=Deliverer(
                InternalClientFactory(
                    use_ssl=config.DISTRIBUTED_MODE,  # as connect_to, with a config of its own (clients are cached)
                    config=Config(
                        max_pool_connections=8, retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30
                    ),
                )
            ),
            delete_schedule=delete_schedule,
            ledger=ledger,
            catch_up=dt.timedelta(seconds=float(settings.get("catch_up_seconds", DEFAULT_CATCH_UP_SECONDS))),
        )
        engine.start()
        _engine = engine
        return engine
    except Exception:
        LOG.exception("%s could not start: schedules will not fire", PREFIX)
        return None


def stop_at_shutdown() -> None:
    """shutdown.d, before the state is saved: stop firing and let the deliveries under way finish. A time that comes
    due while LocalStack stops is not recorded as fired, so it is delivered after the next start (the catch-up
    rule). Retries still waiting are dropped. Never raises."""
    try:
        if _engine is not None:
            _engine.stop(wait=True)
            LOG.info("%s stopped", PREFIX)
    except Exception:
        LOG.exception("%s could not stop cleanly", PREFIX)
