"""The base phase as a user relies on it: a reachable, private, persistent PostgreSQL with the app's credentials.

Tests run in file order; test_contract.py (the phase contract) comes first and test_teardown.py purges the phase.
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from conftest import (assert_nothing_created, docker, inspect, read_env_file, recap, run_playbook, state_dir, task_ran,
                      wait_for)

CONTAINER = "bestshot-postgres"


def connect(**overrides):
    return psycopg.connect(read_env_file()["DATABASE_URL"], connect_timeout=10, autocommit=True, **overrides)


def test_app_role_logs_in_with_the_env_file_password_and_creates_a_table():
    env = read_env_file()
    assert env["DATABASE_URL"].startswith("postgresql://bestshot:")
    assert env["DATABASE_URL"].endswith("@127.0.0.1:5432/bestshot")
    assert env["PGUSER"] == "bestshot" and env["PGDATABASE"] == "bestshot"
    with connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL)")
        conn.execute("INSERT INTO notes (body) VALUES ('hello')")
        assert conn.execute("SELECT count(*) FROM notes WHERE body = 'hello'").fetchone()[0] >= 1
        assert conn.execute("SELECT current_user, current_database()").fetchone() == ("bestshot", "bestshot")


def test_wrong_password_is_refused():
    env = read_env_file()
    url = env["DATABASE_URL"].replace(env["PGPASSWORD"], "not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(url, connect_timeout=10)


def test_env_file_and_secrets_are_private(host):
    home = state_dir()
    assert host.file(str(home / "devenv.env")).mode == 0o600
    assert host.file(str(home / "secrets")).mode == 0o700
    for name in ("postgres-superuser-password", "postgres-app-password"):
        secret = host.file(str(home / "secrets" / name))
        assert secret.mode == 0o600
        assert len(secret.content_string.strip()) >= 32


def test_superuser_password_is_not_in_the_container_environment():
    superuser_password = (state_dir() / "secrets" / "postgres-superuser-password").read_text().strip()
    assert superuser_password not in json.dumps(inspect(CONTAINER)["Config"]["Env"])


def test_configured_extensions_exist_in_the_app_database():
    with connect() as conn:
        names = {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
    assert {"pgcrypto", "citext"} <= names


def test_configured_server_setting_is_applied():
    with connect() as conn:
        assert conn.execute("SHOW log_min_duration_statement").fetchone()[0] == "1s"


def test_teardown_on_a_fresh_machine_succeeds_and_changes_nothing(fresh_project):
    for mode in ("stop", "purge"):
        extra = {**fresh_project["extra_vars"], "devenv_teardown": mode}
        proc = run_playbook("playbooks/teardown.yml", "-e", json.dumps(extra))
        assert recap(proc.output)["changed"] == 0
    assert_nothing_created(fresh_project)


def test_a_cold_start_creates_the_app_database_without_asking_first_and_a_later_run_asks_before_it_creates(fresh_project):
    extra = json.dumps(fresh_project["extra_vars"])
    check, create = "Check the app's role, database and extensions (as the app connects)", "Create the app's login role"
    cold = run_playbook("site.yml", "--tags", "base", "-e", extra).output  # a volume of its own, made by this run
    assert not task_ran(cold, check) and task_ran(cold, create), cold[-3000:]
    again = run_playbook("site.yml", "--tags", "base", "-e", extra, "-e", "devenv_quick_look=false").output
    assert task_ran(again, check) and not task_ran(again, create), again[-3000:]
    assert recap(again)["changed"] == 0


def test_passwords_never_appear_in_the_output_of_a_whole_lifecycle(fresh_project):
    extra = json.dumps(fresh_project["extra_vars"])
    outputs = [
        run_playbook("site.yml", "--tags", "base", "-v", "--diff", "-e", extra).output,  # generates the secrets
        run_playbook("site.yml", "--tags", "base", "-v", "--diff", "-e", extra).output,  # reads them back
        run_playbook("site.yml", "--tags", "base", "-v", "--check", "--diff", "-e", extra).output,
    ]
    secrets_dir = fresh_project["home"] / "secrets"
    secrets = [(secrets_dir / name).read_text().strip() for name in ("postgres-superuser-password", "postgres-app-password")]
    outputs.append(run_playbook("playbooks/teardown.yml", "-v", "-e", extra, "-e", "devenv_teardown=purge").output)
    assert all(len(secret) >= 32 for secret in secrets)
    for output in outputs:
        for secret in secrets:
            assert secret not in output


def test_a_row_survives_a_changed_setting_that_recreates_the_container():
    marker = f"recreate-{uuid.uuid4().hex}"
    with connect() as conn:
        conn.execute("INSERT INTO notes (body) VALUES (%s)", (marker,))
    before = inspect(CONTAINER)["Id"]
    changed = {"postgres_settings": {"log_min_duration_statement": 1000, "max_connections": 42}}
    run_playbook("site.yml", "--tags", "base", "-e", json.dumps(changed))
    assert inspect(CONTAINER)["Id"] != before
    with connect() as conn:
        assert conn.execute("SHOW max_connections").fetchone()[0] == "42"
        assert conn.execute("SELECT count(*) FROM notes WHERE body = %s", (marker,)).fetchone()[0] == 1
    run_playbook("site.yml", "--tags", "base")  # back to the scenario's settings
    with connect() as conn:
        assert conn.execute("SHOW max_connections").fetchone()[0] == "100"


def test_the_quick_look_notices_the_app_password_changed_by_hand_and_the_run_puts_it_back():
    run_playbook("site.yml", "--tags", "base")  # the phase as it is, recorded for the next run's quick look
    docker("exec", CONTAINER, "psql", "-U", "postgres", "-c", "ALTER ROLE bestshot PASSWORD 'changed-by-hand'")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect()
    proc = run_playbook("site.yml", "--tags", "base", "-v")
    assert "check the app database bestshot answers differently" in " ".join(proc.output.split()), proc.output[-3000:]
    with connect() as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "bestshot"


def test_a_container_not_healthy_in_time_fails_the_run_naming_it_what_docker_saw_and_the_timeout_to_raise():
    # Its health check hangs (and times out) until put back: started again by the run, the container stays "starting"
    # (failures in the start period do not count), however long the run takes to reach the wait.
    hang = 'p=$(command -v pg_isready) && mv "$p" "$p.real" && printf "#!/bin/sh\\nexec sleep 30\\n" > "$p" && chmod 755 "$p"'
    assert docker("exec", CONTAINER, "sh", "-c", hang).returncode == 0
    docker("stop", CONTAINER)
    try:
        output = run_playbook("site.yml", "--tags", "base", "-e", '{"postgres_ready_timeout": 1}', expect_rc=2).output
    finally:
        docker("exec", CONTAINER, "sh", "-c", 'p=$(command -v pg_isready.real) && mv "$p" "${p%.real}"')
    assert (f"{CONTAINER} did not become healthy within 1 s (running, health starting). See `docker logs {CONTAINER}`; "
            "raise postgres_ready_timeout on a slow machine.") in " ".join(output.split()), output[-3000:]
    wait_for("PostgreSQL healthy again", lambda: inspect(CONTAINER)["State"]["Health"]["Status"] == "healthy")
