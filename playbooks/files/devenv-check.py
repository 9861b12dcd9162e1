#!/usr/bin/env python3
"""playbooks/check.yml runs this on the workstation: each selected phase checked end to end, the way the app reaches
it (only the env file's settings), one line per check - PASS, or FAIL with the fix to try. Probe objects it makes
(an S3 object, a queue and a schedule, the test event's issue) are removed again. Exits 1 when a check failed.

Argument: base64 of a JSON object - env_file, secrets_dir, phases (list of tags), containers ({name: state}) and the
settings of each phase (services, URLs, names; see check.yml)."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets as random
import struct
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

RESULTS: list[tuple[bool, str]] = []
RUN_ID = random.token_hex(6)


class Failed(Exception):
    """A check failed; the message says what was seen and the fix to try."""


def report(ok: bool, phase: str, what: str, detail: str) -> None:
    RESULTS.append((ok, f"{'PASS' if ok else 'FAIL'}  {phase:<10} {what}: {detail}"))


def read_env(path: str) -> dict[str, str]:
    values = {}
    with open(path, encoding="utf-8") as stream:
        for line in stream.read().splitlines():
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key] = value
    return values


def wait(probe, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(1)


def http(url: str, data: bytes | None = None, headers: dict | None = None, method: str | None = None,
         opener=None) -> bytes:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    with (opener or urllib.request.build_opener()).open(request, timeout=20) as answer:
        return answer.read()


def need(env: dict, *keys: str) -> list[str]:
    missing = [key for key in keys if not env.get(key)]
    if missing:
        raise Failed(f"{', '.join(missing)} missing from the env file; fix: ansible-playbook site.yml")
    return [env[key] for key in keys]


def library(name: str):
    try:
        return __import__(name)
    except ImportError as error:
        raise Failed(f"the Python library {name} is missing here ({error}); fix: ansible-playbook site.yml "
                     "--tags bootstrap (its venv has the libraries), then run the check again") from error


# --- the checks -------------------------------------------------------------------------------------------------
def check_query(env: dict, settings: dict) -> str:
    psycopg = library("psycopg")
    (url,) = need(env, "DATABASE_URL")
    with psycopg.connect(url, connect_timeout=10) as db:
        user, database = db.execute("SELECT current_user, current_database()").fetchone()
    return f"SELECT as {user} in {database} ({url.split('@')[-1]})"


def aws_clients(env: dict):
    boto3 = library("boto3")
    endpoint, region = need(env, "AWS_ENDPOINT", "AWS_REGION")
    return lambda service: boto3.client(service, endpoint_url=endpoint, region_name=region,
                                        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "test"),
                                        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "test"))


def check_s3(env: dict, settings: dict) -> str:
    client = aws_clients(env)("s3")
    (bucket,) = need(env, "S3_BUCKET")
    key, body = f"devenv-check/{RUN_ID}", f"devenv check {RUN_ID}".encode()
    client.put_object(Bucket=bucket, Key=key, Body=body)
    try:
        read = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        if read != body:
            raise Failed(f"s3://{bucket}/{key} read back {read[:40]!r}, not what was written")
    finally:
        client.delete_object(Bucket=bucket, Key=key)
    versions = client.list_object_versions(Bucket=bucket, Prefix=key)  # a versioned bucket keeps the probe's versions
    for version in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        client.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
    return f"put, get, delete s3://{bucket}/{key}"


def check_schedule(env: dict, settings: dict) -> str:
    clients = aws_clients(env)
    sqs, scheduler = clients("sqs"), clients("scheduler")
    name = f"devenv-check-{RUN_ID}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    made = False
    try:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        scheduler.create_schedule(
            Name=name, ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": arn, "RoleArn": f"arn:aws:iam::000000000000:role/{name}", "Input": json.dumps({"run": RUN_ID})})
        made = True
        started = time.monotonic()
        messages = wait(lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2).get("Messages"),
                        settings.get("schedule_timeout", 30))
        if not messages:
            raise Failed(f"a rate(1 minute) schedule did not deliver to its queue within "
                         f"{settings.get('schedule_timeout', 30)} s; LocalStack's schedule engine needs the "
                         "localstack role's image (4.14.0): see `docker logs` of LocalStack, then run "
                         "ansible-playbook site.yml --tags aws")
        return f"schedule {name} fired into its queue after {time.monotonic() - started:.1f} s"
    finally:
        if made:
            scheduler.delete_schedule(Name=name)
        sqs.delete_queue(QueueUrl=url)


def check_sentry(env: dict, settings: dict) -> str:
    (dsn,) = need(env, "SENTRY_DSN")
    parts = urllib.parse.urlsplit(dsn)
    project_id = parts.path.strip("/").split("/")[-1]
    base = f"{parts.scheme}://{parts.hostname}:{parts.port}"
    message = f"devenv check {RUN_ID}: a test event, removed by the check"
    event_id = random.token_hex(16)
    event = {"event_id": event_id, "message": message, "level": "info", "platform": "python",
             "timestamp": time.time(), "logger": "devenv-check"}
    envelope = b"\n".join(json.dumps(item).encode() for item in
                          ({"event_id": event_id, "dsn": dsn}, {"type": "event"}, event)) + b"\n"
    auth = f"Sentry sentry_version=7, sentry_key={parts.username}, sentry_client=devenv-check/1.0"
    http(f"{base}/api/{project_id}/envelope/", envelope,
         {"X-Sentry-Auth": auth, "Content-Type": "application/x-sentry-envelope"})
    token_file = os.path.join(settings["secrets_dir"], "sentry-api-token")
    with open(token_file, encoding="utf-8") as stream:
        token = stream.read().strip()
    api = f"{base}/api/canonical/0"
    headers = {"Authorization": f"Bearer {token}"}

    def arrived():
        issues = json.loads(http(f"{api}/issues/?project={project_id}", headers=headers))["results"]
        return [issue for issue in issues if RUN_ID in json.dumps(issue)]

    found = wait(arrived, 30)
    if not found:
        raise Failed(f"the test event sent to SENTRY_DSN did not show up as an issue within 30 s; see "
                     f"`docker logs {settings['containers']['sentry']}`")
    for issue in found:  # the probe's issue; a tracker that cannot delete it keeps it
        try:
            http(f"{api}/issues/{issue['id']}/", headers=headers, method="DELETE")
        except urllib.error.URLError:
            pass
    return f"a test event sent to SENTRY_DSN arrived as an issue (project {project_id})"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:  # length-delimited (wire type 2)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _fixed64(number: int, value: int) -> bytes:  # wire type 1
    return _varint(number << 3 | 1) + struct.pack("<Q", value)


def _attribute(key: str, value: str) -> bytes:  # KeyValue{key=1, value=2: AnyValue{string_value=1}}
    return _field(1, key.encode()) + _field(2, _field(1, value.encode()))


def otlp_request(resource: dict[str, str], name: str) -> bytes:
    """An OTLP ExportTraceServiceRequest (protobuf) with one span, as an OpenTelemetry SDK would send it."""
    now = time.time_ns()
    span = (_field(1, random.token_bytes(16)) + _field(2, random.token_bytes(8)) + _field(5, name.encode())
            + _varint(6 << 3) + _varint(2)  # kind: SERVER
            + _fixed64(7, now - 5_000_000) + _fixed64(8, now))
    scope_spans = _field(1, _field(1, b"devenv-check")) + _field(2, span)
    resource_msg = b"".join(_field(1, _attribute(key, value)) for key, value in resource.items())
    return _field(1, _field(1, resource_msg) + _field(2, scope_spans))


def check_span(env: dict, settings: dict) -> str:
    endpoint, service, traces_url = need(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME", "TRACES_URL")
    resource = {"service.name": service}
    for pair in filter(None, env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(",")):
        key, _, value = pair.partition("=")
        resource[key.strip()] = urllib.parse.unquote(value.strip())
    project = resource.get("openinference.project.name", "default")
    name = f"devenv check {RUN_ID}"
    http(endpoint, otlp_request(resource, name), {"Content-Type": "application/x-protobuf"})

    def arrived():
        try:
            spans = json.loads(http(f"{traces_url}/v1/projects/{urllib.parse.quote(project)}/spans?limit=100"))
        except urllib.error.HTTPError:
            return None
        return [span for span in spans["data"] if span["name"] == name]

    if not wait(arrived, 30):
        raise Failed(f"a span sent to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT did not show up in project {project} "
                     f"within 30 s; see `docker logs {settings['containers']['traces']}`")
    return f"a span sent with the OTEL_* settings arrived in project {project} ({traces_url})"


def check_pgadmin(env: dict, settings: dict) -> str:
    url, server = settings["pgadmin_url"], settings["pgadmin_server"]
    if http(f"{url}/misc/ping").decode().strip('"') != "PING":
        raise Failed(f"{url}/misc/ping did not answer PING")
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    http(f"{url}/browser/", opener=opener)
    script = http(f"{url}/browser/js/utils.js", opener=opener).decode()
    token = re.search(r"pgAdmin\['csrf_token'\] = '([^']+)'", script).group(1)
    headers = {"X-pgA-CSRFToken": token}
    groups = json.loads(http(f"{url}/browser/server_group/nodes/", headers=headers, opener=opener))["data"]
    for group in groups:
        try:
            listing = json.loads(http(f"{url}/browser/server/nodes/{group['_id']}", headers=headers, opener=opener))
        except urllib.error.HTTPError:  # pgAdmin answers 410 for a group without servers
            continue
        if server in [item["label"] for item in (listing.get("result") or listing.get("data") or [])]:
            return f"{url} answers, server \"{server}\" registered (group {group['label']})"
    raise Failed(f"pgAdmin answers at {url} but lists no server \"{server}\"; fix: ansible-playbook site.yml "
                 "--tags tools (after --tags base)")


def check_swagger(env: dict, settings: dict) -> str:
    url = settings["swagger_url"]
    initializer = http(f"{url}/swagger-initializer.js").decode()
    match = re.search(r"""["']?url["']?\s*:\s*["']([^"']+)["']""", initializer)
    if not match:
        raise Failed(f"{url}/swagger-initializer.js names no spec")
    spec_url = urllib.parse.urljoin(f"{url}/", match.group(1))
    spec = http(spec_url).decode()
    title = re.search(r'"title"\s*:\s*"([^"]*)"|^\s*title:\s*(.+)$', spec, re.MULTILINE)
    if not re.search(r'"?(openapi|swagger)"?\s*:', spec):
        raise Failed(f"{spec_url} is not an OpenAPI spec")
    shown = (title.group(1) or title.group(2)).strip() if title else "untitled"
    return f"{url} serves its spec {spec_url} ({shown})"


CHECKS = {  # phase -> (what, function, the services it needs)
    "base": [("query as the app's role", check_query, ["postgres"])],
    "aws": [("S3 put/get/delete", check_s3, ["localstack"]),
            ("a schedule firing into a probe queue", check_schedule, ["localstack"])],
    "monitoring": [("a Sentry test event arriving", check_sentry, ["sentry"]),
                   ("a span arriving in the trace backend", check_span, ["traces"])],
    "tools": [("pgAdmin with its server registered", check_pgadmin, ["pgadmin"]),
              ("Swagger UI serving its spec", check_swagger, ["swagger"])],
}
SERVICE_NAMES = {"postgres": "PostgreSQL", "localstack": "LocalStack", "sentry": "Bugsink (error tracker)",
                 "traces": "Phoenix (trace backend)", "pgadmin": "pgAdmin", "swagger": "Swagger UI"}


def main() -> int:
    settings = json.loads(base64.b64decode(sys.argv[1]))
    try:
        env = read_env(settings["env_file"])
    except OSError as error:
        env = {}
        print(f"(the env file {settings['env_file']} cannot be read: {error.strerror})")
    for phase in settings["phases"]:
        for what, check, services in CHECKS[phase]:
            if phase == "monitoring" and check is check_span and not settings.get("traces_enabled", True):
                continue
            if phase == "tools" and not settings.get(f"{services[0]}_enabled", True):
                continue
            down = [(service, settings["containers"][service]) for service in services
                    if settings["states"].get(settings["containers"][service]) != "running"]
            if down:
                service, container = down[0]
                state = settings["states"].get(container, "missing")
                fix = (f"docker start {container}" if state in ("exited", "created") else
                       f"ansible-playbook site.yml --tags {phase}")
                report(False, phase, what, f"{SERVICE_NAMES[service]} (container {container}) is {state}; "
                                           f"fix: {fix}")
                continue
            try:
                report(True, phase, what, check(env, settings))
            except Failed as error:
                report(False, phase, what, str(error))
            except Exception as error:  # noqa: BLE001 - any error is a failed check, with what it said
                names = ", ".join(f"{SERVICE_NAMES[s]} (container {settings['containers'][s]})" for s in services)
                detail = str(error).splitlines()[0] if str(error) else type(error).__name__
                if os.environ.get("DEVENV_CHECK_DEBUG"):
                    traceback.print_exc()
                report(False, phase, what, f"{names}: {type(error).__name__}: {detail[:300]}; fix: see "
                                           f"`docker logs {settings['containers'][services[0]]}`, then "
                                           f"ansible-playbook site.yml --tags {phase}")
    for _, line in RESULTS:
        print(line)
    failed = sum(1 for ok, _ in RESULTS if not ok)
    print(f"{len(RESULTS) - failed} of {len(RESULTS)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
