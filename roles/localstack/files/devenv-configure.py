"""LocalStack ready.d script of bestshot.devenv: makes sure what Ansible configures exists, on every start.

Runs inside the container with LocalStack's own Python (which has boto3), after devenv_state.py brought the saved
state back (ready.d/10-devenv-restore.py). It reads config.json (rendered by the role) and creates what is missing:
buckets with versioning, CORS and seed objects (put only when missing: the app's changes are kept), queues (their
dead-letter queues first) with their attributes, schedule groups, and schedules (configured ones updated to their
configuration). So a container whose saved state was set aside still starts configured.
"""

import base64
import json
import os
from pathlib import Path

import boto3
import botocore

CONFIG = Path(os.environ.get("DEVENV_STATE_CONFIG", "/etc/bestshot-devenv/config.json"))
ENDPOINT = os.environ.get("DEVENV_STATE_ENDPOINT", "http://127.0.0.1:4566")


def log(message):
    print(f"bestshot-devenv configure: {message}", flush=True)


def clients(region):
    options = dict(endpoint_url=ENDPOINT, region_name=region, aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client("s3", **options), boto3.client("sqs", **options), boto3.client("scheduler", **options)


def missing(error):
    return error.response.get("Error", {}).get("Code") in (
        "404", "NoSuchKey", "NoSuchBucket", "ResourceNotFoundException", "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist")


def ensure_bucket(s3, bucket, region):
    try:
        s3.head_bucket(Bucket=bucket["name"])
    except botocore.exceptions.ClientError as error:
        if not missing(error):
            raise
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket["name"], **extra)
    if bucket.get("versioning"):
        s3.put_bucket_versioning(Bucket=bucket["name"], VersioningConfiguration={"Status": "Enabled"})
    if bucket.get("cors"):
        s3.put_bucket_cors(Bucket=bucket["name"], CORSConfiguration={"CORSRules": bucket["cors"]})


def object_exists(s3, bucket, key):
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except botocore.exceptions.ClientError as error:
        if missing(error):
            return False
        raise


def ensure_group(scheduler, name):
    if name == "default":
        return
    try:
        scheduler.get_schedule_group(Name=name)
    except botocore.exceptions.ClientError as error:
        if not missing(error):
            raise
        scheduler.create_schedule_group(Name=name)


def put_schedule(scheduler, schedule):
    """Creates the schedule, or updates it to its configuration."""
    key = {"Name": schedule["Name"], "GroupName": schedule.get("GroupName", "default")}
    request = {k: v for k, v in schedule.items() if k not in ("Name", "GroupName") and v is not None}
    request.setdefault("FlexibleTimeWindow", {"Mode": "OFF"})
    try:
        scheduler.get_schedule(**key)
        scheduler.update_schedule(**key, **request)
    except botocore.exceptions.ClientError as error:
        if not missing(error):
            raise
        scheduler.create_schedule(**key, **request)


def ensure_queue(sqs, queue, account, region):
    """Creates the queue when missing, else brings its attributes in line; returns its URL."""
    attributes = dict(queue.get("attributes", {}))
    if queue.get("fifo"):
        attributes["FifoQueue"] = "true"
    dead_letter = queue.get("dead_letter_queue")
    if dead_letter:
        attributes["RedrivePolicy"] = json.dumps({
            "deadLetterTargetArn": f"arn:aws:sqs:{region}:{account}:{dead_letter['name']}",
            "maxReceiveCount": str(dead_letter.get("max_receive_count", 3)),
        })
    try:
        url = sqs.get_queue_url(QueueName=queue["name"])["QueueUrl"]
    except botocore.exceptions.ClientError as error:
        if not missing(error):
            raise
        return sqs.create_queue(QueueName=queue["name"], Attributes=attributes)["QueueUrl"]
    settable = {key: value for key, value in attributes.items() if key != "FifoQueue"}
    if settable:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=settable)
    return url


def configure(config):
    region = config["region"]
    s3, sqs, scheduler = clients(region)
    for bucket in config["buckets"]:
        ensure_bucket(s3, bucket, region)
        for item in bucket.get("objects", []):
            if not object_exists(s3, bucket["name"], item["key"]):
                s3.put_object(Bucket=bucket["name"], Key=item["key"], Body=base64.b64decode(item["content_b64"]))
    for queue in config.get("queues", []):  # listed dead-letter queues first (the role orders them)
        ensure_queue(sqs, queue, config.get("account", "000000000000"), region)
    for group in config["groups"]:
        ensure_group(scheduler, group)
    for schedule in config["schedules"]:
        put_schedule(scheduler, schedule)
    log(f"configured {len(config['buckets'])} bucket(s), {len(config.get('queues', []))} queue(s), "
        f"{len(config['groups'])} group(s), {len(config['schedules'])} schedule(s)")


if __name__ == "__main__":
    configure(json.loads(CONFIG.read_text()))
