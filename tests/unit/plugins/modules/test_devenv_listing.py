"""devenv_listing against the real Docker engine and the real `ss`: what it lists of a project, and what it names
as the holder of a port (the Molecule scenarios check a port another project's container publishes)."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest
from conftest import docker, never_started, run_module

from ansible_collections.bestshot.devenv.plugins.modules import devenv_listing as module


@pytest.fixture
def project():
    name = f"unit-{uuid.uuid4().hex[:8]}"
    label = f"dev.bestshot.devenv.project={name}"
    docker("volume", "create", "--label", label, f"{name}-data")
    docker("volume", "create", "--label", f"{label}-other", f"{name}-other-data")
    docker("network", "create", "--label", label, f"{name}-net")
    docker("network", "create", "--label", label, f"{name}-net-2")
    yield name
    docker("rm", "--force", f"{name}-c")
    docker("rmi", f"{name}-c-empty:latest")
    docker("volume", "rm", f"{name}-data", f"{name}-other-data")
    docker("network", "rm", f"{name}-net", f"{name}-net-2")


def test_it_lists_the_project_volumes_and_its_network_by_the_whole_name_and_changes_nothing(capsys, project):
    listed = run_module(capsys, module, check_mode=True, project=project, network=f"{project}-net")
    assert listed["changed"] is False and listed["held"] == []
    assert [volume["Name"] for volume in listed["volumes"]] == [f"{project}-data"]
    assert [network["Name"] for network in listed["networks"]] == [f"{project}-net"]
    assert listed["host_info"]["ServerVersion"] == docker("version", "--format", "{{.Server.Version}}").stdout.strip()
    assert isinstance(listed["containers"], list) and isinstance(listed["images"], list)


def test_a_port_a_program_holds_fails_naming_the_variable_the_port_and_the_program(capsys, project):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        failed = run_module(capsys, module, project=project,
                            ports=[{"var": "unit_port", "port": port, "container": f"{project}-c"}])
    holder = f"{Path('/proc/self/comm').read_text().strip()} (pid {os.getpid()})"
    assert failed["failed"] is True
    assert failed["msg"] == (f"unit_port: port {port} on 127.0.0.1 is already in use by {holder}. Stop it, or set "
                             "unit_port to a free port.")
    free = run_module(capsys, module, project=project,
                      ports=[{"var": "unit_port", "port": port, "container": f"{project}-c"}])
    assert free.get("failed") is not True and free["held"] == []


@pytest.mark.parametrize(
    ("address", "bind_address", "overlaps"),
    [("127.0.0.1", "127.0.0.1", True), ("0.0.0.0", "127.0.0.1", True), ("*", "127.0.0.1", True),
     ("::", "127.0.0.1", True), ("::ffff:127.0.0.1", "127.0.0.1", True), ("127.0.0.2", "127.0.0.1", False),
     ("::1", "127.0.0.1", False), ("192.168.1.5", "0.0.0.0", True), ("::1", "0.0.0.0", False)],
)
def test_which_listening_addresses_take_a_port_from_the_bind_address(address, bind_address, overlaps):
    assert module.overlaps(address, bind_address) is overlaps


def test_ss_lines_give_each_port_its_programs_or_a_program_of_another_user():
    out = "\n".join([
        'LISTEN 0 4096 127.0.0.1:5432 0.0.0.0:* users:(("postgres",pid=41,fd=7))',
        "LISTEN 0 511 [::]:8080 [::]:* ",
        'LISTEN 0 128 [fe80::1]%eth0:9000 [::]:* users:(("nginx",pid=7,fd=6),("nginx",pid=8,fd=6))',
        'LISTEN 0 128 10.0.0.4:6006 0.0.0.0:* users:(("phoenix",pid=9,fd=3))',
    ])
    assert module.listening(out, "127.0.0.1") == {5432: ["postgres (pid 41)"], 8080: ["a program of another user"]}


def test_only_the_container_named_with_a_port_may_hold_it():
    containers = [
        {"Names": ["/app-postgres"], "State": "running", "Ports": [{"IP": "127.0.0.1", "PublicPort": 5432}]},
        {"Names": ["/other-db"], "State": "running", "Ports": [{"IP": "0.0.0.0", "PublicPort": 5433}]},
        {"Names": ["/stopped"], "State": "exited", "Ports": [{"IP": "127.0.0.1", "PublicPort": 5434}]},
    ]
    published = module.published(containers, "127.0.0.1")
    assert published == {5432: ["app-postgres"], 5433: ["other-db"]}
    ports = [{"var": "postgres_port", "port": 5432, "container": "app-postgres"},
             {"var": "replica_port", "port": 5433, "container": "app-replica"},
             {"var": "spare_port", "port": 5434, "container": "app-spare"}]
    unowned = module.unowned(ports, published)
    assert [item["var"] for item in unowned] == ["replica_port", "spare_port"]
    assert module.held(unowned, published, {5434: ["nginx (pid 7)"]}, "127.0.0.1") == [
        "replica_port: port 5433 on 127.0.0.1 is already in use by the Docker container other-db. Stop it, or set "
        "replica_port to a free port.",
        "spare_port: port 5434 on 127.0.0.1 is already in use by nginx (pid 7). Stop it, or set spare_port to a free "
        "port.",
    ]


def test_the_wait_reports_a_container_that_is_not_running_or_absent_and_the_listing_follows_it(capsys, project):
    never_started(f"{project}-c", "--label", f"dev.bestshot.devenv.project={project}")
    listed = run_module(capsys, module, project=project, healthy=[f"{project}-c", f"{project}-gone"], timeout=60,
                        images=False)
    assert listed["health"] == {f"{project}-c": "created, health none", f"{project}-gone": "absent, health none"}
    assert listed["unhealthy"] == [f"{project}-c", f"{project}-gone"]
    assert listed["images"] == [] and listed["changed"] is False
    assert f"/{project}-c" in [name for container in listed["containers"] for name in container["Names"]]
