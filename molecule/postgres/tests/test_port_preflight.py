"""A published port someone else holds stops the run before anything is created, naming the variable, the port and
what holds it: another program (by its name and pid) or another Docker container (by its name)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import assert_nothing_created, docker, recap, run_playbook


def held_by_another_program(fresh: dict, listen: str, bind: str) -> str:
    """Runs the base phase while this test process listens on postgres_port; returns the failed run's output."""
    with socket.socket() as listener:
        listener.bind((listen, fresh["extra_vars"]["postgres_port"]))
        listener.listen()
        extra = {**fresh["extra_vars"], "devenv_bind_address": bind}
        proc = run_playbook("site.yml", "--tags", "base", "-e", json.dumps(extra), expect_rc=2)
    assert_nothing_created(fresh)  # no container, volume, network, secret or env file
    return proc.output


@pytest.mark.parametrize(
    ("listen", "bind"),
    [("127.0.0.1", "127.0.0.1"), ("127.0.0.1", "0.0.0.0"), ("0.0.0.0", "127.0.0.1")],
    ids=["same-address", "held-on-loopback-bound-to-all", "held-on-all-bound-to-loopback"],
)
def test_a_port_another_program_holds_fails_naming_it_before_anything_is_created(fresh_project, listen, bind):
    output = held_by_another_program(fresh_project, listen, bind)
    port = fresh_project["extra_vars"]["postgres_port"]
    holder = f"{Path('/proc/self/comm').read_text().strip()} (pid {os.getpid()})"  # this process: python, pytest...
    assert f"postgres_port: port {port} on {bind} is already in use by {holder}" in output
    assert "port is already allocated" not in output  # not Docker's late error


@pytest.fixture
def other_container(fresh_project):
    """A container of another project publishing postgres_port (the stand-in postgres image, idle)."""
    name = f"other-{uuid.uuid4().hex[:8]}"
    port = fresh_project["extra_vars"]["postgres_port"]
    subprocess.run(["docker", "run", "-d", "--name", name, "--label", "dev.bestshot.devenv.test=ports",
                    "-p", f"127.0.0.1:{port}:5432", "--entrypoint", "sleep", "postgres:17", "600"],
                   capture_output=True, check=True)
    yield name
    docker("rm", "-f", "-v", name)


def test_a_port_another_container_publishes_fails_naming_the_container(fresh_project, other_container):
    port = fresh_project["extra_vars"]["postgres_port"]
    proc = run_playbook("site.yml", "--tags", "base", "-e", json.dumps(fresh_project["extra_vars"]), expect_rc=2)
    assert f"postgres_port: port {port} on 127.0.0.1 is already in use by the Docker container {other_container}" \
        in proc.output
    assert_nothing_created(fresh_project)


def test_a_phase_that_is_not_selected_has_its_ports_left_alone(fresh_project):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        extra = {**fresh_project["extra_vars"], "localstack_port": listener.getsockname()[1]}
        proc = run_playbook("site.yml", "--tags", "base", "--check", "-e", json.dumps(extra))  # aws not selected
    assert recap(proc.output)["failed"] == 0
    assert_nothing_created(fresh_project)


def test_a_port_given_twice_fails_naming_both_variables(fresh_project):
    port = fresh_project["extra_vars"]["postgres_port"]
    extra = {**fresh_project["extra_vars"], "localstack_port": port}
    proc = run_playbook("site.yml", "--tags", "base,aws", "-e", json.dumps(extra), expect_rc=2)
    assert f"postgres_port and localstack_port publish the same port {port}" in proc.output
    assert_nothing_created(fresh_project)
