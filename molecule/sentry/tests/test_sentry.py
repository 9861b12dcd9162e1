"""The monitoring phase as a user relies on it: the app's Sentry SDK reports to a private, local tracker; the issue
is kept across restarts and re-runs; alerts go out by e-mail and webhooks. test_teardown.py (run last) purges it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from conftest import (
    docker,
    inspect,
    labelled,
    read_env_file,
    recap,
    run_playbook,
    state_dir,
    wait_for,
)

PROJECT = "monitoring"  # devenv_project in molecule.yml: a project of its own, to run beside other scenarios
ENV_FILE = state_dir(PROJECT) / "devenv.env"

CONTAINER = f"{PROJECT}-sentry"
VOLUME = f"{PROJECT}-sentry-data"
URL = "http://127.0.0.1:9000"
SINK = "bestshot-test-sink"
SINK_SCRIPT = Path(__file__).resolve().parent.parent / "sink.py"
SECRETS = ("sentry-secret-key", "sentry-admin-password", "sentry-api-token")


def secret(name: str) -> str:
    return (state_dir(PROJECT) / "secrets" / name).read_text().strip()


def api(path: str, url: str = URL, token: str | None = None) -> dict:
    """GET from the tracker's REST API with the role's token."""
    request = urllib.request.Request(
        f"{url}/api/canonical/0/{path}", headers={"Authorization": f"Bearer {token or secret('sentry-api-token')}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def project(name: str) -> dict:
    [found] = [item for item in api("projects/")["results"] if item["name"] == name]
    return found


def report_exception(env: dict, message: str) -> None:
    """A separate Python process, configured only from the env file, raises and captures an exception."""
    program = textwrap.dedent(
        """
        import os, sys
        import sentry_sdk
        sentry_sdk.init(dsn=os.environ["SENTRY_DSN"], traces_sample_rate=1.0)
        try:
            raise RuntimeError(sys.argv[1])
        except RuntimeError as error:
            assert sentry_sdk.capture_exception(error), "the SDK did not send the event"
        sentry_sdk.flush(timeout=10)
        """
    )
    subprocess.run([sys.executable, "-c", program, message], env={"SENTRY_DSN": env["SENTRY_DSN"]}, check=True,
                   timeout=60)


def issues_titled(project_id: int, message: str, url: str = URL, token: str | None = None) -> list[dict]:
    issues = api(f"issues/?project={project_id}", url, token)["results"]
    return [issue for issue in issues if message in json.dumps(issue)]


def report_an_issue(message: str) -> dict:
    """Reports an exception with the env file's DSN; returns its issue in the app project once the API lists it."""
    report_exception(read_env_file(ENV_FILE), message)
    project_id = project("bestshot")["id"]
    [issue] = wait_for("the issue in the API", lambda: issues_titled(project_id, message))
    return issue


def tracker_shell(script: str, *env: str) -> str:
    """Runs Python in the tracker's Django shell (what a user may do in its admin); returns what it printed."""
    options = [option for name in env for option in ("-e", name)]
    proc = docker("exec", *options, CONTAINER, "bugsink-manage", "shell", "-c", script)
    assert proc.returncode == 0, proc.stderr[-1000:]
    return proc.stdout


def admin_password_is_the_generated_one() -> bool:
    probe = ("import os; from django.contrib.auth import get_user_model; "
             "print('password-ok', get_user_model().objects.get(username='dev@bestshot.test')"
             ".check_password(os.environ['PW']))")
    return "password-ok True" in tracker_shell(probe, f"PW={secret('sentry-admin-password')}")


def channel_names(project_name: str) -> list[str]:
    script = ("import json; from alerts.models import MessagingServiceConfig; "
              f"print(json.dumps(sorted(MessagingServiceConfig.objects.filter(project__name={project_name!r})"
              ".values_list('display_name', flat=True))))")
    return json.loads(tracker_shell(script).strip().splitlines()[-1])


def sink_messages() -> list[dict]:
    lines = docker("logs", SINK).stdout.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture(scope="module")
def sink():
    """The SMTP server and webhook receiver the scenario's alert settings point at ("sink" on the project network),
    run from the tracker's image (it has Python); removed again after this file's tests."""
    docker("rm", "-f", SINK)
    proc = docker(
        "run", "-d", "--name", SINK, "--network", f"{PROJECT}-devenv", "--network-alias", "sink",
        "-v", f"{SINK_SCRIPT}:/sink.py:ro", "bugsink/bugsink:2.6.2", "python", "/sink.py",
    )
    assert proc.returncode == 0, proc.stderr
    try:
        wait_for("sink ready", lambda: any(m["kind"] == "ready" for m in sink_messages()), timeout=30)
        yield
    finally:
        docker("rm", "-f", SINK)


@pytest.fixture(scope="module")
def reported_issue(sink):
    """An exception the app reported (with the alert receivers listening); returns (message, issue)."""
    message = f"devenv-check-{uuid.uuid4().hex[:12]}"
    return message, report_an_issue(message)


def test_container_is_healthy_with_its_port_on_loopback_only(host):
    container = inspect(CONTAINER)
    assert container["State"]["Health"]["Status"] == "healthy"
    assert container["HostConfig"]["PortBindings"] == {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "9000"}]}
    assert not host.socket("tcp://0.0.0.0:9000").is_listening
    assert container["Config"]["Labels"]["dev.bestshot.devenv.role"] == "sentry"
    assert any(m["Name"] == VOLUME and m["Destination"] == "/data" for m in container["Mounts"])


def test_phoning_home_is_off_and_the_admin_password_is_not_in_the_container_config():
    env = dict(item.split("=", 1) for item in inspect(CONTAINER)["Config"]["Env"])
    assert env["PHONEHOME"] == "false"
    assert env["BASE_URL"] == URL
    assert "CREATE_SUPERUSER" not in env
    assert secret("sentry-admin-password") not in json.dumps(inspect(CONTAINER))


def test_secrets_are_generated_private_and_strong():
    directory = state_dir(PROJECT) / "secrets"
    assert directory.stat().st_mode & 0o777 == 0o700
    for name in SECRETS:
        assert (directory / name).stat().st_mode & 0o777 == 0o600, name
    assert len(secret("sentry-secret-key")) >= 50
    assert re.fullmatch(r"[0-9a-f]{40}", secret("sentry-api-token"))


def test_admin_logs_in_with_the_generated_password():
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def log_in(password: str) -> str:
        page = opener.open(f"{URL}/accounts/login/", timeout=10).read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": csrf, "username": "dev@bestshot.test", "password": password}
        ).encode()
        request = urllib.request.Request(f"{URL}/accounts/login/", data=form, headers={"Referer": f"{URL}/"})
        with opener.open(request, timeout=10) as answer:
            return answer.geturl()

    assert "/accounts/login/" in log_in("not-the-password")
    assert "/accounts/login/" not in log_in(secret("sentry-admin-password"))


def test_teams_and_projects_exist_as_configured():
    teams = {team["name"]: team["id"] for team in api("teams/")["results"]}
    assert set(teams) == {"bestshot", "platform"}
    jobs = project("jobs")
    assert jobs["team"] == teams["platform"]
    assert (jobs["alert_on_new_issue"], jobs["alert_on_regression"]) == (True, False)
    assert project("bestshot")["team"] == teams["bestshot"]


def test_env_file_has_the_dsn_of_the_app_project():
    env = read_env_file(ENV_FILE)
    assert env["SENTRY_DSN"] == project("bestshot")["dsn"]
    assert env["SENTRY_DSN"].startswith("http://") and "@127.0.0.1:9000/" in env["SENTRY_DSN"]
    assert env["SENTRY_URL"] == URL


def test_an_exception_the_app_captures_shows_up_as_an_issue_with_its_event(reported_issue):
    message, issue = reported_issue
    events = wait_for("the event in the API", lambda: api(f"events/?issue={issue['id']}")["results"])
    assert len(events) == 1
    assert "RuntimeError" in json.dumps(issue)


def test_new_issue_alert_reaches_the_smtp_server(reported_issue):
    message, _ = reported_issue
    mails = wait_for("the alert e-mail", lambda: [m for m in sink_messages() if m["kind"] == "smtp"])
    [mail] = mails
    assert mail["to"] == ["dev@bestshot.test"]
    assert mail["from"] == "bugsink@bestshot.test"
    assert "New issue" in mail["data"] and message in mail["data"]


def test_new_issue_alert_reaches_the_slack_and_custom_webhooks(reported_issue):
    message, issue = reported_issue
    def posts() -> dict:
        received = {m["path"]: m for m in sink_messages() if m["kind"] == "http"}
        return received if received.keys() >= {"/slack", "/custom"} else {}

    hooks = wait_for("both webhook posts", posts)
    custom = json.loads(hooks["/custom"]["body"])
    assert custom["id"] == issue["id"] and custom["alert_reason"] == "NEW" and message in custom["title"]
    assert message in hooks["/slack"]["body"] and hooks["/slack"]["content_type"].startswith("application/json")


def test_a_re_run_repairs_the_admin_password_an_alert_channel_and_a_project_team_changed_by_hand_then_looks_quickly():
    """With the role's token untouched, the re-run's quick look at the tracker's database notices the changes and the
    full run repairs them (the project's team too, which Bugsink's API cannot change); a re-run that finds everything
    as the last one left it runs only the quick look (the stack's, or without it the phase's own)."""
    assert channel_names("bestshot") == ["custom-hook", "team-chat"]
    teams = {team["name"]: team["id"] for team in api("teams/")["results"]}
    tracker_shell("from alerts.models import MessagingServiceConfig; from django.contrib.auth import get_user_model; "
                  "from projects.models import Project; from teams.models import Team; "
                  "MessagingServiceConfig.objects.filter(display_name='team-chat').delete(); "
                  "admin = get_user_model().objects.get(username='dev@bestshot.test'); "
                  "admin.set_password('changed-by-hand'); admin.save(); "
                  "Project.objects.filter(name='jobs').update(team=Team.objects.get(name='bestshot'))")
    assert not admin_password_is_the_generated_one()
    assert project("jobs")["team"] == teams["bestshot"]

    proc = run_playbook("site.yml", "--tags", "monitoring")
    assert recap(proc.output)["changed"] > 0
    assert "admin password" in proc.output and "channel team-chat of bestshot created" in proc.output, proc.output[-3000:]
    assert "project jobs moved to team platform" in proc.output, proc.output[-3000:]
    assert admin_password_is_the_generated_one()
    assert channel_names("bestshot") == ["custom-hook", "team-chat"]
    assert project("jobs")["team"] == teams["platform"]

    # The stack's quick look (site.yml) asks the same quick check, with every other phase's checks, in one call ...
    proc = run_playbook("site.yml", "--tags", "monitoring", "-v")
    assert recap(proc.output)["changed"] == 0, proc.output[-3000:]
    assert "settled: true" in proc.output, proc.output[-3000:]
    assert f"Bring the container in line - {CONTAINER}" not in proc.output  # ... and the phase does not run
    # Without it (devenv_quick_look=false), the phase's own quick check finds the tracker as the last run left it.
    proc = run_playbook("site.yml", "--tags", "monitoring", "-e", "devenv_quick_look=false")
    assert recap(proc.output)["changed"] == 0, proc.output[-3000:]
    assert f"Bring the container in line - {CONTAINER} (quick check)" in proc.output
    # Nor the full run (Django, REST calls): the DSNs are those the last run noted.
    assert f"Bring the container in line - {CONTAINER} (full run)" not in proc.output
    assert read_env_file(ENV_FILE)["SENTRY_DSN"] == project("bestshot")["dsn"]


def test_check_mode_on_a_provisioned_machine_reports_no_change_and_shows_the_dsn():
    # The phase itself in check mode (a re-run's quick look would find the stack as recorded and show the status only).
    proc = run_playbook("site.yml", "--tags", "monitoring", "--check", "-e", "devenv_quick_look=false")
    assert recap(proc.output)["changed"] == 0, proc.output[-4000:]
    assert f"SENTRY_DSN={read_env_file(ENV_FILE)['SENTRY_DSN']}" in proc.output
    assert str(state_dir(PROJECT) / "secrets" / "sentry-admin-password") in proc.output


def test_monitoring_phase_alone_on_a_fresh_machine_brings_up_only_the_tracker_and_the_trace_backend(fresh_project):
    project_name, home = fresh_project["project"], fresh_project["home"]
    extra = {**fresh_project["extra_vars"], "sentry_port": 19000, "sentry_traces_port": 16006,
             "sentry_traces_grpc_port": 14317}
    outputs = [run_playbook("site.yml", "--tags", "monitoring", "-v", "--diff", "-e", json.dumps(extra)).output]
    assert {kind: sorted(names) for kind, names in labelled(project_name).items()} == {
        "container": [f"{project_name}-sentry", f"{project_name}-traces"],
        "volume": [f"{project_name}-sentry-data", f"{project_name}-traces-data"],
        "network": [f"{project_name}-devenv"],
    }
    # In site.yml the trace backend, which nothing configures, is waited for at the end of the run (with what other
    # phases leave to it), after the tracker's configuration.
    first = outputs[0]
    tracker_run = first.index(f"Bring the container in line - {project_name}-sentry (full run)")
    assert first.index("Wait until the containers are healthy - devenv") > tracker_run, first[-3000:]
    assert "Wait until the containers are healthy - sentry" in first[:tracker_run]  # the tracker's own, before
    env_text = (home / "devenv.env").read_text()
    assert "# BEGIN sentry" in env_text and "# BEGIN postgres" not in env_text and "# BEGIN localstack" not in env_text
    assert "# BEGIN traces" in env_text and f"OTEL_SERVICE_NAME={project_name}\n" in env_text
    env = read_env_file(home / "devenv.env")
    assert "@127.0.0.1:19000/" in env["SENTRY_DSN"]
    secrets = {name: (home / "secrets" / name).read_text().strip() for name in SECRETS}

    # Its default project receives the app's errors.
    message = f"fresh-{uuid.uuid4().hex[:12]}"
    report_exception(env, message)
    project_id = int(env["SENTRY_DSN"].rsplit("/", 1)[1])
    wait_for("the issue", lambda: issues_titled(project_id, message, "http://127.0.0.1:19000",
                                                secrets["sentry-api-token"]))

    # No secret in the output of a first run, a re-run, a check-mode run (verbose, with diffs) and a teardown.
    outputs.append(run_playbook("site.yml", "--tags", "monitoring", "-v", "--diff", "-e", json.dumps(extra)).output)
    outputs.append(run_playbook("site.yml", "--tags", "monitoring", "-v", "--check", "--diff",
                                "-e", json.dumps(extra)).output)
    outputs.append(run_playbook("playbooks/teardown.yml", "--tags", "monitoring", "-v", "-e", json.dumps(extra)).output)
    for output in outputs:
        for name, value in secrets.items():
            assert value not in output, f"{name} printed"
