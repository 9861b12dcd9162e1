"""EventBridge Scheduler schedules really fire inside the aws phase's LocalStack (devenv_scheduler.py, started by
the ready.d hook 90-devenv-scheduler.py).

The app's view: boto3 configured only from the env file creates queues, topics, buses and schedules at run time,
then waits for what the targets receive. One-time ``at()`` schedules a few seconds ahead keep the module short;
the recurring time logic (rate, cron, time zones, missed firings) is covered by tests/unit/test_devenv_scheduler.py.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import read_env_file
from test_localstack import client

ROLE_ARN = "arn:aws:iam::000000000000:role/scheduler"
OFF = {"Mode": "OFF"}


@pytest.fixture(scope="module")
def aws():
    return {name: client(name) for name in ("scheduler", "sqs", "sns", "events")}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_queue(sqs, name: str, **attributes: str) -> tuple[str, str]:
    """(url, arn) of a new queue."""
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def at(seconds: int) -> tuple[str, dt.datetime]:
    """An ``at()`` expression ``seconds`` from now (UTC, whole seconds) and the time it names."""
    moment = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).replace(microsecond=0)
    return f"at({moment.strftime('%Y-%m-%dT%H:%M:%S')})", moment


def create(scheduler, name: str, expression: str, target: dict, **extra) -> str:
    return scheduler.create_schedule(
        Name=name,
        ScheduleExpression=expression,
        FlexibleTimeWindow=OFF,
        Target={"RoleArn": ROLE_ARN, **target},
        **extra,
    )["ScheduleArn"]


def receive(sqs, url: str, timeout: float = 15) -> list[dict]:
    """The messages that arrive in the queue within ``timeout`` seconds (returns as soon as there are some)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        answer = sqs.receive_message(
            QueueUrl=url,
            WaitTimeSeconds=max(1, min(5, int(left))),
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        if messages := answer.get("Messages"):
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return messages
    return []


def nothing_arrives(sqs, url: str, until: dt.datetime) -> bool:
    """True when no message arrives in the queue before ``until`` (plus a few seconds of grace)."""
    left = (until - dt.datetime.now(dt.UTC)).total_seconds() + 4
    return receive(sqs, url, timeout=max(left, 1)) == []


def test_at_schedule_delivers_its_input_exactly_within_seconds(aws):
    url, arn = make_queue(aws["sqs"], unique("fire"))
    text = '{"report":  "nightly" , "n": 1}'  # odd spacing: delivered as given, not re-serialised
    expression, moment = at(3)
    create(aws["scheduler"], unique("at"), expression, {"Arn": arn, "Input": text})
    [message] = receive(aws["sqs"], url)
    arrived = dt.datetime.now(dt.UTC)
    assert message["Body"] == text
    assert (arrived - moment).total_seconds() < 3, f"arrived {arrived}, scheduled {moment}"


def test_context_attributes_are_substituted(aws):
    url, arn = make_queue(aws["sqs"], unique("context"))
    text = json.dumps(
        {
            "arn": "<aws.scheduler.schedule-arn>",
            "time": "<aws.scheduler.scheduled-time>",
            "execution": "<aws.scheduler.execution-id>",
            "attempt": "<aws.scheduler.attempt-number>",
        }
    )
    expression, moment = at(3)
    schedule_arn = create(aws["scheduler"], unique("context"), expression, {"Arn": arn, "Input": text})
    [message] = receive(aws["sqs"], url)
    body = json.loads(message["Body"])
    assert body["arn"] == schedule_arn
    assert body["time"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["attempt"] == "1"
    assert body["execution"] and "<" not in body["execution"]


def test_disabled_schedule_never_delivers(aws):
    url, arn = make_queue(aws["sqs"], unique("disabled"))
    expression, moment = at(2)
    create(aws["scheduler"], unique("disabled"), expression, {"Arn": arn, "Input": "no"}, State="DISABLED")
    assert nothing_arrives(aws["sqs"], url, moment)


def test_fifo_target_gets_its_message_group_id(aws):
    url, arn = make_queue(aws["sqs"], unique("fifo") + ".fifo", FifoQueue="true", ContentBasedDeduplication="true")
    expression, _ = at(3)
    target = {"Arn": arn, "Input": "in order", "SqsParameters": {"MessageGroupId": "reports"}}
    create(aws["scheduler"], unique("fifo"), expression, target)
    [message] = receive(aws["sqs"], url)
    assert message["Body"] == "in order"
    assert message["Attributes"]["MessageGroupId"] == "reports"


def test_sns_target_reaches_its_sqs_subscription(aws):
    url, queue_arn = make_queue(aws["sqs"], unique("sns-sub"))
    topic_arn = aws["sns"].create_topic(Name=unique("topic"))["TopicArn"]
    aws["sns"].subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    expression, _ = at(3)
    create(aws["scheduler"], unique("sns"), expression, {"Arn": topic_arn, "Input": '{"via": "sns"}'})
    [message] = receive(aws["sqs"], url)
    assert message["Body"] == '{"via": "sns"}'


def test_eventbridge_bus_target_reaches_the_rule_target(aws):
    url, queue_arn = make_queue(aws["sqs"], unique("bus-sub"))
    bus = unique("bus")
    bus_arn = aws["events"].create_event_bus(Name=bus)["EventBusArn"]
    rule = unique("rule")
    aws["events"].put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["bestshot.reports"]}))
    aws["events"].put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    expression, _ = at(3)
    target = {
        "Arn": bus_arn,
        "Input": '{"report": "nightly"}',
        "EventBridgeParameters": {"Source": "bestshot.reports", "DetailType": "Report due"},
    }
    create(aws["scheduler"], unique("bus"), expression, target)
    [message] = receive(aws["sqs"], url)
    event = json.loads(message["Body"])
    assert event["source"] == "bestshot.reports"
    assert event["detail-type"] == "Report due"
    assert event["detail"] == {"report": "nightly"}


def test_failing_target_ends_in_the_dlq_with_the_error(aws):
    dlq_url, dlq_arn = make_queue(aws["sqs"], unique("dlq"))
    missing = f"arn:aws:sqs:{read_env_file()['AWS_REGION']}:000000000000:{unique('missing')}"
    name = unique("failing")
    expression, _ = at(3)
    target = {"Arn": missing, "Input": "lost?", "DeadLetterConfig": {"Arn": dlq_arn}}
    schedule_arn = create(aws["scheduler"], name, expression, target)
    [message] = receive(aws["sqs"], dlq_url)
    assert message["Body"] == "lost?"
    attributes = {key: value["StringValue"] for key, value in message["MessageAttributes"].items()}
    assert attributes["X-Amz-Scheduler-Schedule-Arn"] == schedule_arn
    assert attributes["X-Amz-Scheduler-Schedule"] == name
    assert attributes["X-Amz-Scheduler-Group"] == "default"
    assert attributes["X-Amz-Scheduler-Target-Arn"] == missing
    assert attributes["X-Amz-Scheduler-Attempt"] == "1"  # a missing queue is not retried
    assert "NonExistentQueue" in attributes["X-Amz-Scheduler-Error-Code"]
    assert attributes["X-Amz-Scheduler-Error-Message"]


def test_update_before_the_time_changes_what_is_delivered(aws):
    url, arn = make_queue(aws["sqs"], unique("update"))
    name = unique("update")
    expression, _ = at(4)
    create(aws["scheduler"], name, expression, {"Arn": arn, "Input": "before"})
    aws["scheduler"].update_schedule(
        Name=name,
        ScheduleExpression=expression,
        FlexibleTimeWindow=OFF,
        Target={"RoleArn": ROLE_ARN, "Arn": arn, "Input": "after"},
    )
    assert [message["Body"] for message in receive(aws["sqs"], url)] == ["after"]
    assert receive(aws["sqs"], url, timeout=2) == []


def test_delete_before_the_time_delivers_nothing(aws):
    url, arn = make_queue(aws["sqs"], unique("delete"))
    name = unique("delete")
    expression, moment = at(3)
    create(aws["scheduler"], name, expression, {"Arn": arn, "Input": "never"})
    aws["scheduler"].delete_schedule(Name=name)
    assert nothing_arrives(aws["sqs"], url, moment)


def test_completed_one_time_schedule_is_deleted_when_asked(aws):
    url, arn = make_queue(aws["sqs"], unique("once"))
    name = unique("once")
    expression, _ = at(3)
    create(aws["scheduler"], name, expression, {"Arn": arn, "Input": "once"}, ActionAfterCompletion="DELETE")
    assert [message["Body"] for message in receive(aws["sqs"], url)] == ["once"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            aws["scheduler"].get_schedule(Name=name)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ResourceNotFoundException"
            return
        time.sleep(0.5)
    pytest.fail(f"schedule {name} still exists after it completed")


def test_universal_target_calls_the_api_action(aws):
    url, _ = make_queue(aws["sqs"], unique("universal"))
    expression, _ = at(3)
    target = {
        "Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage",
        "Input": json.dumps({"QueueUrl": url, "MessageBody": "sent at <aws.scheduler.scheduled-time>"}),
    }
    create(aws["scheduler"], unique("universal"), expression, target)
    [message] = receive(aws["sqs"], url)
    assert message["Body"].startswith("sent at 20") and message["Body"].endswith("Z")
