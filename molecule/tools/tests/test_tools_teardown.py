"""Runs after test_tools.py (file order): quick, then complete rollback of the phase."""

from __future__ import annotations

from conftest import inspect, run_playbook, state_dir

PROJECT = "tooling"  # devenv_project in molecule.yml
PGADMIN, SWAGGER, VOLUME = f"{PROJECT}-pgadmin", f"{PROJECT}-swagger-ui", f"{PROJECT}-pgadmin-data"


def test_stop_stops_both_tools_and_leaves_postgres_running():
    run_playbook("playbooks/teardown.yml", "--tags", "tools")
    assert inspect(PGADMIN)["State"]["Running"] is False
    assert inspect(SWAGGER)["State"]["Running"] is False
    assert inspect(f"{PROJECT}-postgres")["State"]["Running"] is True


def test_purge_removes_the_tools_containers_volume_secret_and_spec_copy():
    run_playbook("playbooks/teardown.yml", "--tags", "tools", "-e", "devenv_teardown=purge")
    assert inspect(PGADMIN) is None and inspect(SWAGGER) is None and inspect(VOLUME) is None
    assert not (state_dir(PROJECT) / "secrets" / "tools-pgadmin-password").exists()
    assert not (state_dir(PROJECT) / "swagger-ui").exists()
    assert inspect(f"{PROJECT}-postgres")["State"]["Running"] is True  # the base phase is not touched
