"""The phase contract: what every phase promises, checked the same way in each per-phase scenario.

A scenario imports these tests into a module of its own together with a table, PHASE, describing its phase:

    from contract import *  # noqa: F401,F403  (the contract's tests and fixtures)
    PHASE = {
        "tags": "base",                              # the phase's tag in site.yml and teardown.yml
        "role": "postgres",                          # the role label of what it makes
        "project": "bestshot",                       # optional: the scenario's devenv_project (default bestshot)
        "containers": ["bestshot-postgres"],         # the containers it runs
        "bad_input": [(variable, value, expected message fragment[, other settings]), ...],
        "store": store,      # optional () -> check: keeps something the way the app would; check() asserts it is there
        "breaks": [break],   # () -> check: breaks something a re-run must repair; check() asserts it is repaired
    }

test_contract.py (the scenario's copy) runs first among its tests; the last test of its test_teardown.py calls
assert_purge_leaves_nothing(phase), so that the purge runs after everything else.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import LABEL, PROJECT, assert_nothing_created, docker, inspect, recap, run_playbook, run_with_bad_input

ROLE_LABEL = "dev.bestshot.devenv.role"

# What `from contract import *` brings into a scenario's test_contract.py (the purge is called by its
# test_teardown.py instead, so that it runs after every other test of the scenario).
__all__ = [
    "pytest_generate_tests",
    "phase",
    "test_the_phase_runs_healthy_with_every_port_on_loopback_only",
    "test_check_mode_on_the_provisioned_machine_changes_nothing",
    "test_check_mode_on_a_fresh_machine_completes_and_creates_nothing",
    "test_bad_input_fails_naming_the_variable_before_anything_is_created",
    "test_a_re_run_repairs_what_someone_removed_and_a_stopped_container",
    "test_teardown_stop_keeps_the_data_and_a_re_run_brings_it_back",
]


def pytest_generate_tests(metafunc):
    """Parametrizes bad_input with the rows of the importing module's PHASE table."""
    if "bad_input" in metafunc.fixturenames:
        rows = metafunc.module.PHASE["bad_input"]
        metafunc.parametrize("bad_input", rows, ids=[f"{row[0]}={json.dumps(row[1])[:30]}" for row in rows])


@pytest.fixture(scope="module")
def phase(request) -> dict:
    """The importing module's PHASE table."""
    return request.module.PHASE


def phase_objects(phase: dict, kind: str) -> list[str]:
    """Names of the containers or volumes labelled with the project and the phase's role."""
    listing = ["ps", "-a", "--format", "{{.Names}}"] if kind == "container" else ["volume", "ls", "--format", "{{.Name}}"]
    project = phase.get("project", PROJECT)
    proc = docker(*listing, "--filter", f"label={LABEL}={project}", "--filter", f"label={ROLE_LABEL}={phase['role']}")
    return sorted(proc.stdout.split())


def other_phases_running(phase: dict) -> list[str]:
    """Names of the running containers of the phase's project that belong to other phases."""
    project = phase.get("project", PROJECT)
    proc = docker("ps", "--filter", f"label={LABEL}={project}", "--format", f'{{{{.Names}}}} {{{{.Label "{ROLE_LABEL}"}}}}')
    return sorted(name for name, role in (line.split() for line in proc.stdout.splitlines()) if role != phase["role"])


def status_states(status: str, tag: str) -> list[str]:
    """The STATE column of the rows of the phase tagged ``tag`` in the table status.yml prints (one per service)."""
    lines = status.splitlines()
    header = next(number for number, line in enumerate(lines) if re.match(r"\s*PHASE +SERVICE +STATE ", line))
    column = lines[header].index("STATE")
    rows = [line for line in lines[header + 1:] if line.split()[:1] == [tag] and len(line) > column]
    return [line[column:].split()[0] for line in rows]


def assert_running_healthy_on_loopback(phase: dict) -> None:
    for name in phase["containers"]:
        container = inspect(name)
        assert container is not None, f"{name} does not exist"
        assert container["State"]["Running"] is True, f"{name} is not running"
        assert container["State"]["Health"]["Status"] == "healthy", f"{name}: {container['State']['Health']}"
        bindings = [binding for published in container["HostConfig"]["PortBindings"].values() for binding in published]
        assert bindings, f"{name} publishes no port"
        assert {binding["HostIp"] for binding in bindings} == {"127.0.0.1"}, f"{name}: {bindings}"


def test_the_phase_runs_healthy_with_every_port_on_loopback_only(phase):
    assert sorted(phase["containers"]) == phase_objects(phase, "container")
    assert_running_healthy_on_loopback(phase)


def test_check_mode_on_the_provisioned_machine_changes_nothing(phase):
    ids = {name: inspect(name)["Id"] for name in phase["containers"]}
    proc = run_playbook("site.yml", "--tags", phase["tags"], "--check", "--diff")
    assert recap(proc.output)["changed"] == 0, proc.output[-4000:]
    assert {name: inspect(name)["Id"] for name in phase["containers"]} == ids


def test_check_mode_on_a_fresh_machine_completes_and_creates_nothing(phase, fresh_project):
    proc = run_playbook("site.yml", "--tags", phase["tags"], "--check", "-e", json.dumps(fresh_project["extra_vars"]))
    assert recap(proc.output)["changed"] > 0  # it reports what a real run would do ...
    assert_nothing_created(fresh_project)  # ... and did none of it


def test_bad_input_fails_naming_the_variable_before_anything_is_created(phase, fresh_project, bad_input):
    variable, value, expected, *more = bad_input  # more: other settings the case needs, e.g. a port it clashes with
    fresh = {**fresh_project, "extra_vars": {**fresh_project["extra_vars"], **(more[0] if more else {})}}
    output = run_with_bad_input(phase["tags"], fresh, variable, value)
    assert expected in output, output[-3000:]


def test_a_re_run_repairs_what_someone_removed_and_a_stopped_container(phase):
    run_playbook("site.yml", "--tags", phase["tags"])  # the phase as it is, recorded for the next run's quick look
    # What someone removed, with every container still running: the quick look itself must notice it.
    checks = [breaker() for breaker in phase.get("breaks", [])]
    if checks:
        proc = run_playbook("site.yml", "--tags", phase["tags"], "-v")
        assert "settled: false" in proc.output, proc.output[-4000:]
        assert recap(proc.output)["changed"] > 0
        for check in checks:
            check()
    stopped = phase["containers"][-1]
    docker("stop", stopped)
    assert inspect(stopped)["State"]["Running"] is False
    proc = run_playbook("site.yml", "--tags", phase["tags"])
    assert recap(proc.output)["changed"] > 0
    assert_running_healthy_on_loopback(phase)
    for check in checks:
        check()
    proc = run_playbook("site.yml", "--tags", phase["tags"], "-v")  # the repaired machine is converged again ...
    assert recap(proc.output)["changed"] == 0, proc.output[-4000:]
    assert "settled: true" in proc.output, proc.output[-4000:]  # ... and the quick look finds it as recorded


def test_teardown_stop_keeps_the_data_and_a_re_run_brings_it_back(phase):
    check = phase["store"]() if "store" in phase else (lambda: None)
    volumes = phase_objects(phase, "volume")
    ids = {name: inspect(name)["Id"] for name in phase["containers"]}
    others = other_phases_running(phase)
    run_playbook("playbooks/teardown.yml", "--tags", phase["tags"])
    others_after_stop = other_phases_running(phase)
    for name in phase["containers"]:
        stopped = inspect(name)
        assert stopped["State"]["Running"] is False, f"{name} still runs after teardown stop"
        # The same container, stopped as it was (not replaced by a bare one of the same image).
        assert stopped["Id"] == ids[name] and stopped["State"]["Status"] == "exited", (name, stopped["State"])
    assert phase_objects(phase, "container") == sorted(phase["containers"])
    assert phase_objects(phase, "volume") == volumes
    status = run_playbook("playbooks/status.yml").output
    proc = run_playbook("site.yml", "--tags", phase["tags"], "-v")
    assert_running_healthy_on_loopback(phase)
    assert {name: inspect(name)["Id"] for name in phase["containers"]} == ids  # started again, not recreated
    check()
    # Brought back by the quick look alone, as `docker compose start` would: it started the phase's containers, waited
    # for them and found them as the last complete run left them, so no phase ran.
    assert "settled: true" in proc.output and "Wait until the containers are healthy" not in proc.output, \
        proc.output[-4000:]
    assert recap(proc.output)["changed"] == 1, proc.output[-4000:]
    # Checked once the phase is back, so that a failure here leaves it running for the scenario's other tests.
    assert others_after_stop == others  # only the phase was stopped
    assert status_states(status, phase["tags"]) == ["exited"] * len(phase["containers"]), status[-3000:]


def assert_purge_leaves_nothing(phase):
    """The contract's purge: called by the last test of the scenario's test_teardown.py."""
    run_playbook("playbooks/teardown.yml", "--tags", phase["tags"], "-e", "devenv_teardown=purge")
    assert phase_objects(phase, "container") == []
    assert phase_objects(phase, "volume") == []
    for path in phase.get("purged_paths", []):
        assert not path.exists(), f"{path} is left after purge"
