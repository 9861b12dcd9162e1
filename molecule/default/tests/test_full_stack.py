"""The whole workstation, every phase from site.yml, as an app and its developer meet it: an app configured only by the
env file reaches PostgreSQL, S3 and the error tracker; pgAdmin reaches PostgreSQL; the CLI tools bootstrap installed
work against the stack; tags and on/off flags pick phases; status shows everything without a secret.
test_teardown.py (run last) rolls it back."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import psycopg
import pytest

from conftest import (
    assert_nothing_created,
    inspect,
    labelled,
    pgadmin_session,
    read_env_file,
    recap,
    registered_server,
    run_playbook,
    state_dir,
    wait_for,
)

PROJECT = "fullstack"  # devenv_project in molecule.yml
HOME = state_dir(PROJECT)
SERVICES = {  # container -> the port molecule.yml publishes
    "fullstack-postgres": "25432",
    "fullstack-localstack": "24566",
    "fullstack-sentry": "29000",
    "fullstack-traces": "26006 24317",  # UI and OTLP/HTTP, OTLP/gRPC
    "fullstack-pgadmin": "25050",
    "fullstack-swagger-ui": "28080",
}
SENTRY_URL, PGADMIN_URL, TRACES_URL = "http://127.0.0.1:29000", "http://127.0.0.1:25050", "http://127.0.0.1:26006"
BOOTSTRAP = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))  # its venv and bin links


def secrets() -> list[str]:
    return [path.read_text().strip() for path in (HOME / "secrets").iterdir()]


def app_env() -> dict[str, str]:
    """The environment of an app that reads nothing but the env file."""
    return read_env_file(HOME / "devenv.env")


def tracker_issues(message: str) -> list[dict]:
    token = (HOME / "secrets" / "sentry-api-token").read_text().strip()

    def get(path: str) -> dict:
        request = urllib.request.Request(f"{SENTRY_URL}/api/canonical/0/{path}",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)

    [project] = [item for item in get("projects/")["results"] if item["name"] == PROJECT]
    return [issue for issue in get(f"issues/?project={project['id']}")["results"] if message in json.dumps(issue)]


APP = textwrap.dedent(
    """
    # An app configured by its environment only (the env file), as twelve-factor apps are.
    import os, sys
    import boto3, psycopg, sentry_sdk
    from opentelemetry import trace
    from sentry_sdk.integrations.otlp import OTLPIntegration

    marker = sys.argv[1]
    with psycopg.connect(os.environ["DATABASE_URL"]) as db:
        db.execute("CREATE TABLE IF NOT EXISTS visits (marker text PRIMARY KEY)")
        db.execute("INSERT INTO visits VALUES (%s)", (marker,))
        assert db.execute("SELECT count(*) FROM visits WHERE marker = %s", (marker,)).fetchone()[0] == 1

    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"], region_name=os.environ["AWS_REGION"])
    s3.put_object(Bucket=os.environ["S3_BUCKET"], Key=f"visits/{marker}", Body=marker.encode())
    assert s3.get_object(Bucket=os.environ["S3_BUCKET"], Key=f"visits/{marker}")["Body"].read() == marker.encode()

    sentry_sdk.init(dsn=os.environ["SENTRY_DSN"],
                    integrations=[OTLPIntegration(collector_url=os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])])
    with trace.get_tracer("app").start_as_current_span("GET /visits") as span:
        span.set_attribute("visit", marker)
        try:
            raise RuntimeError(f"visit {marker}")
        except RuntimeError as error:
            assert sentry_sdk.capture_exception(error)
    sentry_sdk.flush(timeout=10)
    trace.get_tracer_provider().shutdown()
    """
)


@pytest.fixture(scope="module")
def app_run():
    """One run of the app; returns its marker (in the database, the bucket and the tracker)."""
    marker = uuid.uuid4().hex[:12]
    subprocess.run([sys.executable, "-c", APP, marker], env=app_env(), check=True, timeout=120)
    return marker


def test_every_phase_runs_healthy_with_its_port_on_loopback_only():
    for name, port in SERVICES.items():
        container = inspect(name)
        assert container is not None, f"{name} missing"
        assert container["State"]["Health"]["Status"] == "healthy", name
        bindings = [binding for ports in container["HostConfig"]["PortBindings"].values() for binding in ports]
        assert sorted(bindings, key=lambda b: b["HostPort"]) == [
            {"HostIp": "127.0.0.1", "HostPort": p} for p in sorted(port.split())], (name, bindings)
    assert sorted(labelled(PROJECT)["container"]) == sorted(SERVICES)


def test_the_env_file_has_a_block_per_phase_and_is_private():
    env_file = HOME / "devenv.env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    text = env_file.read_text()
    for block in ("postgres", "localstack", "sentry", "traces"):
        assert f"# BEGIN {block} (managed by bestshot.devenv)" in text, block
    env = app_env()
    assert env["DATABASE_URL"].startswith("postgresql://") and ":25432/" in env["DATABASE_URL"]
    assert env["AWS_ENDPOINT"] == "http://127.0.0.1:24566"
    assert env["SENTRY_DSN"].startswith("http://") and "@127.0.0.1:29000/" in env["SENTRY_DSN"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == TRACES_URL and env["OTEL_SERVICE_NAME"] == PROJECT


def test_an_app_configured_only_by_the_env_file_reaches_postgres_s3_the_tracker_and_the_trace_backend(app_run):
    assert wait_for("the app's error in the tracker", lambda: tracker_issues(f"visit {app_run}"))

    def spans() -> list[dict]:
        try:
            with urllib.request.urlopen(f"{TRACES_URL}/v1/projects/{PROJECT}/spans", timeout=10) as answer:
                return [span for span in json.load(answer)["data"] if span["attributes"].get("visit") == app_run]
        except urllib.error.HTTPError:  # 404 until the project's first span arrives
            return []

    [span] = wait_for("the app's span in the trace backend", spans)
    assert span["name"] == "GET /visits"


def test_pgadmin_reaches_postgres_over_the_project_network():
    call = pgadmin_session(PGADMIN_URL)
    group_id, server_id = registered_server(call, f"{PROJECT} PostgreSQL")
    answer = call(f"/browser/server/connect/{group_id}/{server_id}", {})
    assert answer["success"] == 1 and answer["data"]["connected"] is True, answer
    databases = call(f"/browser/database/nodes/{group_id}/{server_id}")["data"]
    assert PROJECT in [database["label"] for database in databases]


def test_the_cli_tools_bootstrap_installed_work_against_the_stack(app_run):
    env = {**app_env(), "PATH": f"{BOOTSTRAP / 'bin'}:{os.environ['PATH']}"}
    listing = subprocess.run(["awslocal", "s3", "ls", f"s3://{env['S3_BUCKET']}/visits/"], env=env,
                             capture_output=True, text=True, check=True, timeout=120)
    assert app_run in listing.stdout
    query = subprocess.run(["psql", "-tA", "-c", f"SELECT marker FROM visits WHERE marker = '{app_run}'"], env=env,
                           capture_output=True, text=True, check=True, timeout=60)
    assert query.stdout.strip() == app_run


def test_the_phases_modules_ran_with_the_bootstrap_python():
    venv_python = BOOTSTRAP / "bootstrap-venv" / "bin" / "python"
    check = "import requests, boto3, psycopg; print(boto3.__version__)"
    assert subprocess.run([str(venv_python), "-c", check], capture_output=True, text=True,
                          check=True).stdout.strip() == "1.44.8"


def test_check_mode_on_the_provisioned_machine_reports_no_change_and_ends_with_the_status():
    proc = run_playbook("site.yml", "--check")
    assert recap(proc.output)["changed"] == 0
    assert_status(proc.output)


def test_a_re_run_of_the_stack_as_it_was_left_takes_one_quick_look_and_runs_no_phase():
    run_playbook("site.yml")  # the whole stack as it is now, recorded (earlier tests ran single phases)
    proc = run_playbook("site.yml", "-v")
    assert recap(proc.output)["changed"] == 0
    assert "settled: true" in proc.output, proc.output[-4000:]
    # The shared mechanism's tasks of a phase's install and configure (only listed when their include ran).
    ran = re.findall(r"^TASK \[bestshot\.devenv\.devenv : (Compare what the phase has|Check that each port is free"
                     r"|Wait until the containers are healthy|Bring the container in line|Write the env blocks)",
                     proc.output, re.MULTILINE)
    assert ran == [], ran  # no phase compared, checked a port, waited, asked a container or wrote the env file
    # Nor checked its settings again: the quick look comes first, and its key holds the settings the recording run
    # checked. (Bootstrap, which the quick look does not cover, checks and runs its own.)
    preflights = re.findall(r"^TASK \[bestshot\.devenv\.(\w+) : Validating arguments against arg spec 'preflight'",
                            proc.output, re.MULTILINE)
    assert preflights == ["workstation"], preflights
    assert_status(proc.output)  # the status, from the quick look's own listing
    record = HOME / "quick-look" / "base-aws-monitoring-tools.json"  # one record per selection of phases
    assert record.stat().st_mode & 0o777 == 0o600  # its checks hold the app's and pgAdmin's passwords
    assert record.parent.stat().st_mode & 0o777 == 0o700

    # An env file edited by hand: the quick look notices it, and the run puts back the blocks (the user's line stays).
    env_file = HOME / "devenv.env"
    env_file.write_text(env_file.read_text().replace("PGPORT=25432", "PGPORT=1") + "MY_OWN=kept\n")
    proc = run_playbook("site.yml", "-v")
    assert "settled: false" in proc.output and f"file {env_file} changed" in " ".join(proc.output.split())
    assert recap(proc.output)["changed"] > 0
    env = read_env_file(env_file)
    assert env["PGPORT"] == "25432" and env["MY_OWN"] == "kept"
    assert "settled: true" in run_playbook("site.yml", "-v").output

    # A run of one phase in between records itself beside the whole stack's record, which still counts; and so does
    # its own on the next run of that phase.
    run_playbook("site.yml", "--tags", "aws")
    assert "settled: true" in run_playbook("site.yml", "-v").output
    assert "settled: true" in run_playbook("site.yml", "--tags", "aws", "-v").output
    assert sorted(path.name for path in record.parent.iterdir()) == ["aws.json", record.name]
    env_file.write_text(env_file.read_text().replace("MY_OWN=kept\n", ""))  # the purge at the end removes the file


def assert_status(output: str) -> None:
    """The status report: a row per service, running and healthy, with its URL and where its credentials are."""
    assert "Docker engine running" in output
    lines = output.splitlines()
    positions = []
    for service, url in (("PostgreSQL", "postgresql://127.0.0.1:25432"),
                         ("LocalStack", "http://127.0.0.1:24566"), ("Bugsink", "http://127.0.0.1:29000"),
                         ("Traces", "http://127.0.0.1:26006"),
                         ("pgAdmin", "http://127.0.0.1:25050"), ("Swagger UI", "http://127.0.0.1:28080")):
        rows = [n for n, line in enumerate(lines) if f" {service} " in line and "running" in line]
        assert rows and "healthy" in lines[rows[-1]] and url in lines[rows[-1]], (service, output[-3000:])
        positions.append(rows[-1])
    assert positions == sorted(positions), "the rows follow the phases: base, aws, monitoring, tools"
    assert f"{HOME}/secrets" in output and "credentials:" in output
    for value in secrets():
        assert value not in output


def test_status_shows_every_service_without_a_secret():
    proc = run_playbook("playbooks/status.yml", "-v")
    assert recap(proc.output)["changed"] == 0
    assert_status(proc.output)


def test_a_site_run_with_a_tag_runs_only_that_phase_and_ignores_bad_settings_of_the_others():
    # Bad settings of phases that are not selected: neither checked (not even their argument specs) nor run.
    proc = run_playbook("site.yml", "--tags", "aws", "-e", "tools_pgadmin_port=notaport", "-e", "postgres_port=-1")
    assert recap(proc.output)["changed"] == 0
    tasks = [line for line in proc.output.splitlines() if line.startswith("TASK [")]
    assert any("localstack" in line.lower() for line in tasks)
    for other in ("bestshot.devenv.postgres", "bestshot.devenv.sentry", "bestshot.devenv.tools",
                  "bestshot.devenv.workstation : Install"):
        assert not [line for line in tasks if other in line], (other, tasks)


def test_a_bad_setting_of_a_later_phase_stops_the_run_before_any_phase_changes(fresh_project):
    extra = {**fresh_project["extra_vars"], "tools_pgadmin_port": 99999}
    proc = run_playbook("site.yml", "-e", json.dumps(extra), expect_rc=2)
    assert "tools_pgadmin_port" in proc.output
    assert_nothing_created(fresh_project)


@pytest.mark.parametrize("value", ["maybe", "[1]"])
def test_a_bad_phase_flag_fails_naming_it_and_the_allowed_values(fresh_project, value):
    extra = {**fresh_project["extra_vars"], "devenv_monitoring_enabled": value if value != "[1]" else [1]}
    proc = run_playbook("site.yml", "-e", json.dumps(extra), expect_rc=2)
    assert "devenv_monitoring_enabled" in proc.output and "bool" in proc.output
    assert_nothing_created(fresh_project)


def test_a_phase_turned_off_is_skipped_and_left_as_it_is():
    proc = run_playbook("site.yml", "-e", "devenv_monitoring_enabled=false")
    assert recap(proc.output)["changed"] == 0
    assert "bestshot.devenv.sentry" not in proc.output
    assert inspect("fullstack-sentry")["State"]["Running"] is True  # off means skipped, not removed
    assert re.search(r"monitoring +Bugsink +running", proc.output)  # and the status still shows what runs


def test_check_mode_on_a_fresh_machine_completes_and_creates_nothing(fresh_project):
    proc = run_playbook("site.yml", "--check", "-e", json.dumps(fresh_project["extra_vars"]))
    assert recap(proc.output)["failed"] == 0
    assert_nothing_created(fresh_project)


def test_quick_rollback_of_one_phase_stops_only_it_and_keeps_its_data(app_run):
    run_playbook("playbooks/teardown.yml", "--tags", "monitoring")
    assert inspect("fullstack-sentry")["State"]["Running"] is False
    assert inspect("fullstack-traces")["State"]["Running"] is False
    assert all(inspect(name)["State"]["Running"] for name in SERVICES if name not in ("fullstack-sentry",
                                                                                      "fullstack-traces"))
    assert re.search(r"monitoring +Bugsink +exited +- +-\n", run_playbook("playbooks/status.yml").output)  # no port when stopped
    run_playbook("site.yml", "--tags", "monitoring")
    assert inspect("fullstack-sentry")["State"]["Running"] is True
    assert inspect("fullstack-traces")["State"]["Running"] is True
    assert tracker_issues(f"visit {app_run}")  # the event stored before the rollback is still there


def container_steps(output: str, verb: str) -> list[list[str]]:
    """The containers each task of the run named `<verb> a, b, ...` started or stopped (one list per task)."""
    steps = re.findall(rf"TASK \[(?:[^\]]+ : )?{verb} ((?:fullstack-[a-z-]+(?:, )?)+)\]", output)
    return [sorted(names.split(", ")) for names in steps]


def test_the_whole_stack_stops_in_one_step_with_its_data_kept_and_a_re_run_starts_it_again_in_one(app_run):
    # The whole stack as the tests before left it (some changed it with single phases), recorded for the quick look.
    run_playbook("site.yml")
    ids = {name: inspect(name)["Id"] for name in SERVICES}
    stop = run_playbook("playbooks/teardown.yml").output
    assert container_steps(stop, "Stop") == [sorted(SERVICES)], stop[-3000:]  # side by side, in one call
    assert {name: inspect(name)["State"]["Status"] for name in SERVICES} == dict.fromkeys(SERVICES, "exited")

    check = run_playbook("site.yml", "--tags", "base", "--check").output  # one phase is enough to see it
    # The one call that makes what the selected phases' plans say differs names it: only the base phase's container.
    assert container_steps(check, "Make, start or remove what differs -") == [["fullstack-postgres"]], check[-3000:]
    assert recap(check)["changed"] > 0
    assert {name: inspect(name)["State"]["Status"] for name in SERVICES} == dict.fromkeys(SERVICES, "exited")

    # The quick look brings the stack back as `docker compose start` would: every container started side by side, a
    # wait until they are healthy (each check asked as soon as its container is); no phase runs.
    back = run_playbook("site.yml", "-v").output
    started = re.search(r"\n +started:\n((?: +- [a-z-]+\n)+)", back)
    assert started and sorted(started.group(1).split()[1::2]) == sorted(SERVICES), back[-3000:]
    assert "settled: true" in back and "Wait until the containers are healthy" not in back, back[-3000:]
    for name in SERVICES:
        state = inspect(name)
        assert state["Id"] == ids[name] and state["State"]["Health"]["Status"] == "healthy", (name, state["State"])
    env = app_env()
    with psycopg.connect(env["DATABASE_URL"]) as db:  # what the app stored before the stop is all there
        assert db.execute("SELECT count(*) FROM visits WHERE marker = %s", (app_run,)).fetchone()[0] == 1
    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT"], region_name=env["AWS_REGION"],
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    assert s3.get_object(Bucket=env["S3_BUCKET"], Key=f"visits/{app_run}")["Body"].read() == app_run.encode()
    assert tracker_issues(f"visit {app_run}")

