"""Nothing the app stored in LocalStack is lost: objects, messages, topics, schedules, buses and rules survive every
way a container stops and starts again, a crash loses at most the last save interval, and a saved state that cannot
be used is set aside while LocalStack still comes up configured. The app here is boto3 with the env file only."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest

from conftest import inspect, read_env_file, run_playbook
from test_localstack import CONTAINER, VOLUME, aws_modules_ran, client, get_json, wait_ready
from test_schedules_fire import make_queue

IMAGE = "localstack/localstack:4.14.0"
STATE = "/var/lib/localstack/bestshot-devenv"


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def bodies_within(sqs, url: str, seconds: float, enough: int | None = None) -> list[str]:
    """The bodies of the messages that arrive in the queue within ``seconds`` (received and deleted), or as soon as
    ``enough`` have arrived."""
    bodies, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline and (enough is None or len(bodies) < enough):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def make_app_state() -> dict:
    """Everything an app stores in the five services, named uniquely; returns the names for check_app_state()."""
    tag = uuid.uuid4().hex[:8]
    s3, sqs, sns, events, scheduler = (client(name) for name in ("s3", "sqs", "sns", "events", "scheduler"))
    names = {"tag": tag, "bucket": f"app-{tag}", "key": f"app/{tag}.json", "versioned_key": f"app/{tag}-v.txt"}
    s3.create_bucket(Bucket=names["bucket"])
    s3.put_object(Bucket=names["bucket"], Key=names["key"], Body=b'{"kept": true}', ContentType="application/json",
                  Metadata={"owner": "app"}, Tagging="team=app&tier=dev")
    # bestshot-dev is versioned (scenario settings): two versions of one key.
    first = s3.put_object(Bucket="bestshot-dev", Key=names["versioned_key"], Body=b"version one")["VersionId"]
    second = s3.put_object(Bucket="bestshot-dev", Key=names["versioned_key"], Body=b"version two")["VersionId"]
    names["versions"] = [first, second]
    big = bytes(range(256)) * 4096  # 1 MiB, spooled to disk inside LocalStack
    s3.put_object(Bucket=names["bucket"], Key="big.bin", Body=big)
    names["multipart_etag"] = multipart_upload(s3, names["bucket"], "multipart.bin")
    queue_url = sqs.create_queue(QueueName=f"app-{tag}")["QueueUrl"]
    for number in range(3):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"message {number}")
    fifo_url = sqs.create_queue(QueueName=f"app-{tag}.fifo", Attributes={"FifoQueue": "true",
                                                                         "ContentBasedDeduplication": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=fifo_url, MessageBody="fifo message", MessageGroupId="group-1")
    names.update(queue_url=queue_url, fifo_url=fifo_url)
    topic_arn = sns.create_topic(Name=f"app-{tag}")["TopicArn"]
    inbox_url, inbox_arn = make_queue(sqs, f"app-{tag}-inbox")
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
    names.update(topic_arn=topic_arn, inbox_url=inbox_url, inbox_arn=inbox_arn)
    events.create_event_bus(Name=f"app-{tag}")
    events.put_rule(Name=f"app-{tag}", EventBusName=f"app-{tag}", EventPattern=json.dumps({"source": ["app"]}))
    events.put_targets(Rule=f"app-{tag}", EventBusName=f"app-{tag}", Targets=[{"Id": "inbox", "Arn": inbox_arn}])
    # A rate schedule fires when it is created, then every 7 days: exactly once here, restart or not.
    scheduled_url, scheduled_arn = make_queue(sqs, f"app-{tag}-scheduled")
    scheduler.create_schedule_group(Name=f"app-{tag}")
    scheduler.create_schedule(
        Name=f"app-{tag}", GroupName=f"app-{tag}", ScheduleExpression="rate(7 days)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": scheduled_arn, "RoleArn": "arn:aws:iam::000000000000:role/app", "Input": '{"from": "schedule"}'},
    )
    names["scheduled_url"] = scheduled_url
    return names


def multipart_upload(s3, bucket: str, key: str) -> str:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = b"p" * (5 * 1024 * 1024)
    parts = [{"PartNumber": number, "ETag": s3.upload_part(Bucket=bucket, Key=key, UploadId=upload,
                                                          PartNumber=number, Body=part)["ETag"]}
             for number in (1, 2)]
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                        MultipartUpload={"Parts": parts})["ETag"]


def check_app_state(names: dict) -> None:
    s3, sqs, sns, events, scheduler = (client(name) for name in ("s3", "sqs", "sns", "events", "scheduler"))
    stored = s3.get_object(Bucket=names["bucket"], Key=names["key"])
    assert stored["Body"].read() == b'{"kept": true}'
    assert stored["ContentType"] == "application/json" and stored["Metadata"] == {"owner": "app"}
    tags = s3.get_object_tagging(Bucket=names["bucket"], Key=names["key"])["TagSet"]
    assert sorted((tag["Key"], tag["Value"]) for tag in tags) == [("team", "app"), ("tier", "dev")]
    for version, body in zip(names["versions"], (b"version one", b"version two")):
        assert s3.get_object(Bucket="bestshot-dev", Key=names["versioned_key"], VersionId=version)["Body"].read() == body
    assert s3.get_object(Bucket=names["bucket"], Key="big.bin")["Body"].read() == bytes(range(256)) * 4096
    multipart = s3.head_object(Bucket=names["bucket"], Key="multipart.bin")
    assert multipart["ETag"] == names["multipart_etag"] and multipart["ContentLength"] == 10 * 1024 * 1024

    bodies = bodies_within(sqs, names["queue_url"], 5, enough=3)
    assert sorted(bodies) == ["message 0", "message 1", "message 2"]
    [fifo] = sqs.receive_message(QueueUrl=names["fifo_url"], AttributeNames=["MessageGroupId"],
                                 WaitTimeSeconds=1)["Messages"]
    assert fifo["Body"] == "fifo message" and fifo["Attributes"]["MessageGroupId"] == "group-1"

    [subscription] = sns.list_subscriptions_by_topic(TopicArn=names["topic_arn"])["Subscriptions"]
    assert subscription["Endpoint"] == names["inbox_arn"]
    sns.publish(TopicArn=names["topic_arn"], Message="through the restored topic")
    events.put_events(Entries=[{"Source": "app", "DetailType": "test", "Detail": '{"through": "the restored rule"}',
                                "EventBusName": f"app-{names['tag']}"}])
    arrived = bodies_within(sqs, names["inbox_url"], 30, enough=2)
    assert "through the restored topic" in arrived
    events_seen = [json.loads(body) for body in arrived if body.startswith("{")]
    assert [event["detail"] for event in events_seen] == [{"through": "the restored rule"}], arrived

    schedule = scheduler.get_schedule(Name=f"app-{names['tag']}", GroupName=f"app-{names['tag']}")
    assert schedule["ScheduleExpression"] == "rate(7 days)" and schedule["Target"]["Input"] == '{"from": "schedule"}'
    fired = bodies_within(sqs, names["scheduled_url"], 8)
    assert fired == ['{"from": "schedule"}'], "fired once at creation, and not again for the same time after the restart"


def restart_by_docker() -> None:
    docker("restart", CONTAINER)


def stop_and_start_by_docker() -> None:
    docker("stop", CONTAINER)
    docker("start", CONTAINER)


def recreate_by_a_changed_setting() -> None:
    before = inspect(CONTAINER)["Id"]
    proc = run_playbook("site.yml", "--tags", "aws", "-e", json.dumps({"localstack_settings": {"LS_LOG": "info"}}))
    assert inspect(CONTAINER)["Id"] != before  # really a new container
    # Its ready hooks restored the state and recreated what config.json declares: the run trusts them.
    assert "Read how LocalStack's ready hooks ended" in proc.output and not aws_modules_ran(proc.output)
    run_playbook("site.yml", "--tags", "aws")  # and back to the scenario's settings (recreated once more)


@pytest.mark.parametrize(
    "bring_back",
    [restart_by_docker, stop_and_start_by_docker, recreate_by_a_changed_setting],
    ids=["docker restart", "docker stop and start", "recreated for a changed setting"],
)
def test_everything_the_app_stored_is_back(bring_back):
    """(The fourth way, teardown stop then site, is the phase contract's: test_contract.py stores the same state.)"""
    names = make_app_state()
    bring_back()
    wait_ready()
    check_app_state(names)


def test_writes_older_than_the_save_interval_survive_a_kill():
    s3, sqs = client("s3"), client("sqs")
    key = f"crash/{uuid.uuid4().hex}.txt"
    s3.put_object(Bucket="bestshot-dev", Key=key, Body=b"written before the crash")
    queue_url = sqs.create_queue(QueueName=f"crash-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="sent before the crash")
    interval = json.loads(docker("exec", CONTAINER, "cat", "/etc/bestshot-devenv/config.json"))["state"]["save_interval"]
    time.sleep(interval + 3)  # one save interval, plus the save itself
    docker("kill", "-s", "KILL", CONTAINER)
    docker("start", CONTAINER)
    wait_ready()
    assert s3.get_object(Bucket="bestshot-dev", Key=key)["Body"].read() == b"written before the crash"
    [message] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert message["Body"] == "sent before the crash"


def damage_the_pickle(folder: str) -> str:
    return f"echo 'not a pickle' > {folder}/s3.pickle"


def claim_another_version(folder: str) -> str:
    return (f"sed -i 's/\"localstack\": \"4.14.0\"/\"localstack\": \"4.13.1\"/' {folder}/manifest.json"
            f" && grep -q 4.13.1 {folder}/manifest.json")


@pytest.mark.parametrize("damage", [damage_the_pickle, claim_another_version],
                         ids=["a corrupt state file", "a state of another LocalStack version"])
def test_an_unusable_state_is_set_aside_and_localstack_starts_configured(damage):
    s3 = client("s3")
    s3.put_object(Bucket="bestshot-dev", Key="before-the-damage.txt", Body=b"lost with the set-aside state")
    docker("stop", CONTAINER)  # saves
    docker("run", "--rm", "-v", f"{VOLUME}:/var/lib/localstack", "--entrypoint", "sh", IMAGE, "-c",
           damage(f"{STATE}/state"))
    docker("start", CONTAINER)
    wait_ready()
    assert inspect(CONTAINER)["RestartCount"] == 0 and inspect(CONTAINER)["State"]["Running"] is True
    # Started empty, then configured: the role's bucket with its versioning and seed object, no app object.
    assert s3.get_object(Bucket="bestshot-dev", Key="seed/hello.txt")["Body"].read() == b"hello from the seed\n"
    assert s3.get_bucket_versioning(Bucket="bestshot-dev")["Status"] == "Enabled"
    assert "Contents" not in s3.list_objects_v2(Bucket="bestshot-dev", Prefix="before-the-damage")
    notes = json.loads(docker("exec", CONTAINER, "cat", f"{STATE}/set-aside.json"))
    kept = notes[-1]["path"]
    assert kept.startswith(f"{STATE}/state.set-aside-")
    docker("exec", CONTAINER, "test", "-f", f"{kept}/manifest.json")  # kept, not deleted
    assert "set aside" in subprocess.run(["docker", "logs", CONTAINER], capture_output=True, text=True).stdout
    status = run_playbook("playbooks/status.yml").output
    assert "set aside" in status and kept.rsplit("/", 1)[-1] in status
    # And it saves afresh: an object written now survives the next restart.
    s3.put_object(Bucket="bestshot-dev", Key="after-the-damage.txt", Body=b"saved again")
    docker("restart", CONTAINER)
    wait_ready()
    assert s3.get_object(Bucket="bestshot-dev", Key="after-the-damage.txt")["Body"].read() == b"saved again"


def test_state_is_saved_only_after_a_change():
    def last_save():
        return json.loads(docker("exec", CONTAINER, "cat", f"{STATE}/last-save.json"))

    client("s3").put_object(Bucket="bestshot-dev", Key="trigger.txt", Body=b"a change")
    interval = json.loads(docker("exec", CONTAINER, "cat", "/etc/bestshot-devenv/config.json"))["state"]["save_interval"]
    time.sleep(interval + 3)
    saved = last_save()
    assert saved["reason"] == "periodic"
    client("s3").list_objects_v2(Bucket="bestshot-dev")  # reads change nothing
    client("sqs").list_queues()
    time.sleep(interval + 2)
    assert last_save()["at"] == saved["at"]
    assert get_json("/_localstack/health")["services"]["s3"] in ("available", "running")


def test_a_rate_schedule_keeps_firing_across_a_restart_and_never_twice_for_one_time():
    sqs, scheduler = client("sqs"), client("scheduler")
    tag = uuid.uuid4().hex[:8]
    url, arn = make_queue(sqs, f"every-minute-{tag}")
    scheduler.create_schedule(
        Name=f"every-minute-{tag}", ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": "arn:aws:iam::000000000000:role/app",
                "Input": '{"time": "<aws.scheduler.scheduled-time>"}'},
    )
    try:
        # The firing at creation (on a busy machine it may take a while: wait for it, not for a fixed time).
        times = [json.loads(body)["time"] for body in bodies_within(sqs, url, 45, enough=1)]
        assert len(times) == 1, times
        docker("restart", CONTAINER)
        wait_ready()
        # The next firing, a minute after the first; a restored schedule that fired the first time again would be
        # here too (with the first's time), as would a second message for the next time (read 5 s more).
        times += [json.loads(body)["time"] for body in bodies_within(sqs, url, 100, enough=1)]
        times += [json.loads(body)["time"] for body in bodies_within(sqs, url, 5)]
        assert len(times) == 2 and len(set(times)) == 2, times
    finally:
        scheduler.delete_schedule(Name=f"every-minute-{tag}")
