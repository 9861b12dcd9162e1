"""playbooks/check.yml, the answer to "is my stack OK?": on the healthy full stack every check passes and leaves no
probe object behind; with a container stopped it fails, naming the service and the fix. Runs before
test_full_stack.py and leaves the stack healthy."""

from __future__ import annotations

import re
import time

import boto3

from conftest import docker, inspect, read_env_file, run_playbook, state_dir, wait_for

PROJECT = "fullstack"  # devenv_project in molecule.yml
LINE = re.compile(r"^\s*(PASS|FAIL)  (\w+) +(.+?): (.*)$", re.MULTILINE)


def results(output: str) -> list[tuple[str, str, str, str]]:
    """(PASS|FAIL, phase, check, detail) of each line check.yml printed."""
    return LINE.findall(output)


def aws(service: str):
    env = read_env_file(state_dir(PROJECT) / "devenv.env")
    return boto3.client(service, endpoint_url=env["AWS_ENDPOINT"], region_name=env["AWS_REGION"],
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_every_check_passes_on_the_healthy_stack_and_leaves_no_probe_behind():
    started = time.monotonic()
    proc = run_playbook("playbooks/check.yml")
    found = results(proc.output)
    assert [(status, phase, check) for status, phase, check, _ in found] == [
        ("PASS", "base", "query as the app's role"),
        ("PASS", "aws", "S3 put/get/delete"),
        ("PASS", "aws", "a schedule firing into a probe queue"),
        ("PASS", "monitoring", "a Sentry test event arriving"),
        ("PASS", "monitoring", "a span arriving in the trace backend"),
        ("PASS", "tools", "pgAdmin with its server registered"),
        ("PASS", "tools", "Swagger UI serving its spec"),
    ], proc.output[-3000:]
    assert "7 of 7 checks passed" in proc.output
    assert "SELECT as fullstack" in found[0][3] and "Devenv test API" in found[6][3]
    assert time.monotonic() - started < 180
    env = read_env_file(state_dir(PROJECT) / "devenv.env")
    versions = aws("s3").list_object_versions(Bucket=env["S3_BUCKET"], Prefix="devenv-check/")
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")
    assert not [url for url in aws("sqs").list_queues().get("QueueUrls", []) if "devenv-check" in url]
    assert not [s for s in aws("scheduler").list_schedules()["Schedules"] if s["Name"].startswith("devenv-check")]


def test_tags_pick_the_phases_checked():
    found = results(run_playbook("playbooks/check.yml", "--tags", "tools").output)
    assert {phase for _, phase, _, _ in found} == {"tools"} and len(found) == 2


def test_a_stopped_container_fails_the_check_naming_the_service_and_the_fix():
    assert docker("stop", "fullstack-localstack").returncode == 0
    try:
        proc = run_playbook("playbooks/check.yml", "--tags", "base,aws", expect_rc=2)
        found = results(proc.output)
        assert ("PASS", "base") in [(status, phase) for status, phase, _, _ in found]
        aws_lines = [(status, detail) for status, phase, _, detail in found if phase == "aws"]
        assert len(aws_lines) == 2 and all(status == "FAIL" for status, _ in aws_lines)
        assert all("LocalStack (container fullstack-localstack) is exited; fix: docker start fullstack-localstack"
                   in detail for _, detail in aws_lines)
        assert "2 check(s) failed" in proc.output
    finally:
        docker("start", "fullstack-localstack")
        wait_for("LocalStack healthy again", lambda: inspect("fullstack-localstack")["State"].get("Health", {})
                 .get("Status") == "healthy", timeout=120)

