"""Runs after test_tools.py (file order): quick, then complete rollback of the phase."""

from __future__ import annotations

from conftest import inspect, run_playbook
from contract import assert_purge_leaves_nothing, phase  # noqa: F401  (phase: the contract's fixture)
from test_contract import PHASE  # noqa: F401  (the phase's table)

PROJECT = "tooling"  # devenv_project in molecule.yml
PGADMIN, SWAGGER = f"{PROJECT}-pgadmin", f"{PROJECT}-swagger-ui"


def test_stop_stops_both_tools_and_leaves_postgres_running():
    run_playbook("playbooks/teardown.yml", "--tags", "tools")
    assert inspect(PGADMIN)["State"]["Running"] is False
    assert inspect(SWAGGER)["State"]["Running"] is False
    assert inspect(f"{PROJECT}-postgres")["State"]["Running"] is True


def test_purge_leaves_nothing_of_the_phase_and_does_not_touch_postgres(phase):
    assert_purge_leaves_nothing(phase)
    assert inspect(f"{PROJECT}-postgres")["State"]["Running"] is True  # the base phase is not touched
