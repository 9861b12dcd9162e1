"""Runs after test_tools.py (file order): quick, then complete rollback of the phase."""

from __future__ import annotations

from conftest import inspect, run_playbook, state_dir

PGADMIN, SWAGGER, VOLUME = "bestshot-pgadmin", "bestshot-swagger-ui", "bestshot-pgadmin-data"


def test_stop_stops_both_tools_and_leaves_postgres_running():
    run_playbook("playbooks/teardown.yml", "--tags", "tools")
    assert inspect(PGADMIN)["State"]["Running"] is False
    assert inspect(SWAGGER)["State"]["Running"] is False
    assert inspect("bestshot-postgres")["State"]["Running"] is True


def test_purge_removes_the_tools_containers_volume_secret_and_spec_copy():
    run_playbook("playbooks/teardown.yml", "--tags", "tools", "-e", "devenv_teardown=purge")
    assert inspect(PGADMIN) is None and inspect(SWAGGER) is None and inspect(VOLUME) is None
    assert not (state_dir() / "secrets" / "tools-pgadmin-password").exists()
    assert not (state_dir() / "swagger-ui").exists()
    assert inspect("bestshot-postgres")["State"]["Running"] is True  # the base phase is not touched
