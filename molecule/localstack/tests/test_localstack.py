"""The aws phase as a user relies on it: S3 and EventBridge Scheduler on LocalStack, configured, private,
and back as configured after a restart. test_teardown.py (run last) purges the phase."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
import uuid

import boto3

from conftest import inspect, labelled, read_env_file, recap, run_playbook, task_ran

CONTAINER = "bestshot-localstack"
VOLUME = "bestshot-localstack-data"
ENDPOINT = "http://127.0.0.1:4566"


def client(service: str, env: dict | None = None):
    """A boto3 client configured only from the env file, as the app would be."""
    env = env or read_env_file()
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def delete_bucket_with_every_version(s3, bucket: str) -> None:
    """Deletes a (versioned) bucket the way a user must: every object version and delete marker first."""
    versions = s3.list_object_versions(Bucket=bucket)
    for entry in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
    s3.delete_bucket(Bucket=bucket)


def get_json(path: str, endpoint: str = ENDPOINT) -> dict:
    with urllib.request.urlopen(endpoint + path, timeout=10) as answer:
        return json.load(answer)


def aws_modules_ran(output: str) -> bool:
    """Whether a run's output shows the AWS modules of the aws phase at work (its first one, the buckets)."""
    return task_ran(output, "Create the S3 buckets")


def wait_ready(endpoint: str = ENDPOINT, timeout: int = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get_json("/_localstack/init/ready", endpoint).get("completed"):
                return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"LocalStack at {endpoint} not ready within {timeout} s")


def test_requested_services_are_available_in_the_community_release():
    health = get_json("/_localstack/health")
    assert health["version"] == "4.14.0"
    assert health["services"]["s3"] in ("available", "running")
    for service in ("scheduler", "sqs", "sns", "events"):  # the default services: schedules' targets included
        assert health["services"][service] in ("available", "running")
    assert get_json("/_localstack/init/ready")["completed"] is True


def test_env_file_has_the_aws_block():
    env = read_env_file()
    assert env["AWS_ENDPOINT"] == env["AWS_ENDPOINT_URL"] == ENDPOINT
    assert env["AWS_REGION"] == "us-east-1"
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("test", "test")
    assert env["S3_BUCKET"] == env["S3_BUCKETS"] == "bestshot-dev"
    assert env["SQS_QUEUE_URL"] == env["SQS_QUEUE_URL_REPORTS"] == f"{ENDPOINT}/000000000000/reports"
    assert env["SQS_QUEUE_URL_JOBS_FIFO"] == f"{ENDPOINT}/000000000000/jobs.fifo"


def test_configured_queues_exist_with_their_dead_letter_queue_and_attributes():
    env, sqs = read_env_file(), client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=env["SQS_QUEUE_URL_JOBS_FIFO"], AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true" and attributes["ContentBasedDeduplication"] == "true"
    assert attributes["VisibilityTimeout"] == "45"
    dead_letter_url = sqs.get_queue_url(QueueName="jobs-dead.fifo")["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dead_letter_arn["QueueArn"] and int(redrive["maxReceiveCount"]) == 2
    # The app uses the URL from the env file as it is.
    sqs.send_message(QueueUrl=env["SQS_QUEUE_URL_REPORTS"], MessageBody="through the env file")
    [message] = sqs.receive_message(QueueUrl=env["SQS_QUEUE_URL_REPORTS"], WaitTimeSeconds=2)["Messages"]
    assert message["Body"] == "through the env file"
    sqs.delete_message(QueueUrl=env["SQS_QUEUE_URL_REPORTS"], ReceiptHandle=message["ReceiptHandle"])


def test_s3_round_trip_with_the_env_file_settings():
    s3, bucket = client("s3"), read_env_file()["S3_BUCKET"]
    key = f"round-trip/{uuid.uuid4().hex}.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"it works")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"it works"
    assert key in [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix="round-trip/")["Contents"]]


def test_bucket_has_versioning_cors_and_the_seed_object():
    s3 = client("s3")
    assert s3.get_bucket_versioning(Bucket="bestshot-dev")["Status"] == "Enabled"
    [rule] = s3.get_bucket_cors(Bucket="bestshot-dev")["CORSRules"]
    assert rule["AllowedOrigins"] == ["http://localhost:3000"] and sorted(rule["AllowedMethods"]) == ["GET", "PUT"]
    assert s3.get_object(Bucket="bestshot-dev", Key="seed/hello.txt")["Body"].read() == b"hello from the seed\n"


def test_schedule_group_and_schedule_exist_as_configured():
    scheduler = client("scheduler")
    assert scheduler.get_schedule_group(Name="reports")["State"] == "ACTIVE"
    schedule = scheduler.get_schedule(Name="nightly-report", GroupName="reports")
    assert schedule["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert schedule["State"] == "ENABLED"
    assert schedule["Target"]["Arn"] == "arn:aws:sqs:us-east-1:000000000000:reports"
    assert schedule["Target"]["RoleArn"] == "arn:aws:iam::000000000000:role/scheduler"
    assert json.loads(schedule["Target"]["Input"]) == {"report": "nightly"}


def test_configured_state_is_back_after_a_docker_restart_without_ansible():
    s3, scheduler = client("s3"), client("scheduler")
    s3.delete_object(Bucket="bestshot-dev", Key="seed/hello.txt")
    subprocess.run(["docker", "restart", CONTAINER], check=True, capture_output=True)
    wait_ready()
    assert s3.get_object(Bucket="bestshot-dev", Key="seed/hello.txt")["Body"].read() == b"hello from the seed\n"
    assert s3.get_bucket_versioning(Bucket="bestshot-dev")["Status"] == "Enabled"
    assert s3.get_bucket_cors(Bucket="bestshot-dev")["CORSRules"]
    assert scheduler.get_schedule(Name="nightly-report", GroupName="reports")["ScheduleExpression"] == "cron(0 2 * * ? *)"


def test_a_re_run_recreates_a_bucket_deleted_while_localstack_runs():
    """A re-run's modules are skipped while every declared bucket is listed; one gone brings them back."""
    s3 = client("s3")
    delete_bucket_with_every_version(s3, "bestshot-dev")
    started = inspect(CONTAINER)["State"]["StartedAt"]
    proc = run_playbook("site.yml", "--tags", "aws")
    assert recap(proc.output)["changed"] > 0
    assert inspect(CONTAINER)["State"]["StartedAt"] == started  # repaired through the API, not by a restart
    assert s3.get_bucket_versioning(Bucket="bestshot-dev")["Status"] == "Enabled"
    assert s3.get_bucket_cors(Bucket="bestshot-dev")["CORSRules"]
    assert s3.get_object(Bucket="bestshot-dev", Key="seed/hello.txt")["Body"].read() == b"hello from the seed\n"
    proc = run_playbook("site.yml", "--tags", "aws")
    assert recap(proc.output)["changed"] == 0, proc.output[-4000:]


def test_aws_phase_alone_on_a_fresh_machine_brings_up_only_localstack_and_never_shows_its_auth_token(fresh_project):
    project, token = fresh_project["project"], f"ls-{uuid.uuid4().hex}"
    extra = json.dumps({
        **fresh_project["extra_vars"],
        "localstack_port": 14566,
        "localstack_auth_token": token,
        "localstack_buckets": [{"name": f"{project}-dev"}],
        "localstack_schedule_groups": [],
        "localstack_schedules": [],
    })
    outputs = [run_playbook("site.yml", "--tags", "aws", "-v", "--diff", "-e", extra).output]
    assert labelled(project) == {
        "container": [f"{project}-localstack"],
        "volume": [f"{project}-localstack-data"],
        "network": [f"{project}-devenv"],
    }
    env_text = (fresh_project["home"] / "devenv.env").read_text()
    assert "# BEGIN localstack" in env_text and "DATABASE_URL" not in env_text and "# BEGIN postgres" not in env_text
    env = read_env_file(fresh_project["home"] / "devenv.env")
    assert env["S3_BUCKET"] == f"{project}-dev"
    # The container's first start made the bucket (its ready hook, from config.json): the run trusts it and calls no
    # AWS module, which would take CPU from the services still starting.
    assert "Read how LocalStack's ready hooks ended" in outputs[0] and not aws_modules_ran(outputs[0])
    s3 = client("s3", env)
    s3.put_object(Bucket=env["S3_BUCKET"], Key="alone.txt", Body=b"alone")
    assert s3.get_object(Bucket=env["S3_BUCKET"], Key="alone.txt")["Body"].read() == b"alone"

    # The auth token reaches the container, and no output shows it (a first run and a check-mode run, verbose).
    outputs.append(run_playbook("site.yml", "--tags", "aws", "-v", "--check", "--diff", "-e", extra).output)
    assert f"LOCALSTACK_AUTH_TOKEN={token}" in inspect(f"{project}-localstack")["Config"]["Env"]
    for output in outputs:
        assert token not in output
