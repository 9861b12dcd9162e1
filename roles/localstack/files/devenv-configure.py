"""LocalStack init hook of bestshot.devenv: keeps the aws phase's state across container restarts.

The community edition of LocalStack keeps nothing across a restart. This script runs inside the container with
LocalStack's own Python (which has boto3):

  save     (run by the role's teardown before it stops the container; at shutdown.d time the gateway no longer
           answers) writes every bucket with its objects, and every schedule group and schedule, to the state
           volume (/var/lib/localstack/bestshot-devenv), replacing the previous snapshot only once it is complete.
  restore  (ready.d) brings the snapshot back, then makes sure everything configured by Ansible exists
           (config.json, rendered by the role): buckets with versioning, CORS and seed objects (put only when
           missing), schedule groups and schedules (configured ones updated to their configuration).
"""

import base64
import json
import os
import shutil
import sys
from pathlib import Path

import boto3
import botocore

CONFIG = Path(os.environ.get("DEVENV_STATE_CONFIG", "/etc/bestshot-devenv/config.json"))
SNAPSHOT = Path(os.environ.get("DEVENV_STATE_DIR", "/var/lib/localstack/bestshot-devenv"))
ENDPOINT = os.environ.get("DEVENV_STATE_ENDPOINT", "http://127.0.0.1:4566")


def log(message):
    print(f"bestshot-devenv state: {message}", flush=True)


def clients(region):
    options = dict(endpoint_url=ENDPOINT, region_name=region, aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client("s3", **options), boto3.client("scheduler", **options)


def missing(error):
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchBucket", "ResourceNotFoundException")


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


def put_schedule(scheduler, schedule, replace):
    key = {"Name": schedule["Name"], "GroupName": schedule.get("GroupName", "default")}
    request = {k: v for k, v in schedule.items() if k not in ("Name", "GroupName") and v is not None}
    request.setdefault("FlexibleTimeWindow", {"Mode": "OFF"})
    try:
        scheduler.get_schedule(**key)
        if replace:
            scheduler.update_schedule(**key, **request)
    except botocore.exceptions.ClientError as error:
        if not missing(error):
            raise
        scheduler.create_schedule(**key, **request)


def save(config):
    s3, scheduler = clients(config["region"])
    work = SNAPSHOT.with_name(SNAPSHOT.name + ".new")
    shutil.rmtree(work, ignore_errors=True)
    (work / "objects").mkdir(parents=True)
    index = {"buckets": [], "groups": [], "schedules": []}
    for number, listed in enumerate(s3.list_buckets().get("Buckets", [])):
        name = listed["Name"]
        versioning = s3.get_bucket_versioning(Bucket=name).get("Status") == "Enabled"
        try:
            cors = s3.get_bucket_cors(Bucket=name).get("CORSRules", [])
        except botocore.exceptions.ClientError:
            cors = []
        objects = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", []):
                stored = f"{number}-{len(objects)}"
                s3.download_file(name, item["Key"], str(work / "objects" / stored))
                head = s3.head_object(Bucket=name, Key=item["Key"])
                objects.append({"key": item["Key"], "file": stored, "content_type": head.get("ContentType")})
        index["buckets"].append({"name": name, "versioning": versioning, "cors": cors, "objects": objects})
    for page in scheduler.get_paginator("list_schedule_groups").paginate():
        index["groups"] += [group["Name"] for group in page.get("ScheduleGroups", [])]
    for page in scheduler.get_paginator("list_schedules").paginate():
        for listed in page.get("Schedules", []):
            schedule = scheduler.get_schedule(Name=listed["Name"], GroupName=listed["GroupName"])
            keep = ("Name", "GroupName", "ScheduleExpression", "ScheduleExpressionTimezone", "Description", "State",
                    "FlexibleTimeWindow", "Target", "ActionAfterCompletion")
            index["schedules"].append({key: schedule[key] for key in keep if schedule.get(key) is not None})
    (work / "index.json").write_text(json.dumps(index, default=str))
    shutil.rmtree(SNAPSHOT, ignore_errors=True)
    work.rename(SNAPSHOT)
    log(f"saved {len(index['buckets'])} bucket(s), {sum(len(b['objects']) for b in index['buckets'])} object(s), "
        f"{len(index['schedules'])} schedule(s)")


def restore(config):
    region = config["region"]
    s3, scheduler = clients(region)
    index_file = SNAPSHOT / "index.json"
    if index_file.exists():
        index = json.loads(index_file.read_text())
        for bucket in index["buckets"]:
            ensure_bucket(s3, bucket, region)
            for item in bucket["objects"]:
                extra = {"ContentType": item["content_type"]} if item.get("content_type") else {}
                s3.upload_file(str(SNAPSHOT / "objects" / item["file"]), bucket["name"], item["key"], ExtraArgs=extra)
        for group in index["groups"]:
            ensure_group(scheduler, group)
        for schedule in index["schedules"]:
            put_schedule(scheduler, schedule, replace=False)
        log(f"restored {len(index['buckets'])} bucket(s) and {len(index['schedules'])} schedule(s) from the snapshot")
    for bucket in config["buckets"]:
        ensure_bucket(s3, bucket, region)
        for item in bucket.get("objects", []):
            if not object_exists(s3, bucket["name"], item["key"]):
                s3.put_object(Bucket=bucket["name"], Key=item["key"], Body=base64.b64decode(item["content_b64"]))
    for group in config["groups"]:
        ensure_group(scheduler, group)
    for schedule in config["schedules"]:
        put_schedule(scheduler, schedule, replace=True)
    log(f"configured {len(config['buckets'])} bucket(s), {len(config['groups'])} group(s), "
        f"{len(config['schedules'])} schedule(s)")


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else ""
    if action not in ("save", "restore"):
        sys.exit("usage: devenv-state.py save|restore")
    settings = json.loads(CONFIG.read_text())
    (save if action == "save" else restore)(settings)
