"""devenv_services against the real Docker engine (networks and volumes of a project of its own), and how it turns a
declared container into the Engine API's create request (the Molecule scenarios create every real container with it)."""

from __future__ import annotations

import json
import uuid

import pytest
from conftest import docker, never_started, run_module

from ansible_collections.bestshot.devenv.plugins.modules import devenv_services as module


@pytest.fixture
def project():
    name = f"unit-{uuid.uuid4().hex[:8]}"
    yield name
    docker("network", "rm", f"{name}-net")
    docker("rm", "--force", "--volumes", f"{name}-c")
    docker("volume", "rm", f"{name}-data", f"{name}-logs")
    docker("rmi", f"{name}-c-empty:latest")


def test_it_makes_the_network_and_volumes_with_their_labels_once_and_check_mode_makes_nothing(capsys, project):
    args = dict(network=f"{project}-net", network_labels={"dev.bestshot.devenv.project": project},
                volumes=[f"{project}-data"], volume_labels={"dev.bestshot.devenv.role": "unit"})
    checked = run_module(capsys, module, check_mode=True, **args)
    assert checked["changed"] is True and checked["network_created"] is True
    assert checked["volumes_created"] == [f"{project}-data"]
    assert docker("network", "inspect", f"{project}-net").returncode != 0  # nothing made in check mode
    assert docker("volume", "inspect", f"{project}-data").returncode != 0
    made = run_module(capsys, module, **args)
    assert made["changed"] is True and made["network_created"] is True
    network = json.loads(docker("network", "inspect", f"{project}-net").stdout)[0]
    volume = json.loads(docker("volume", "inspect", f"{project}-data").stdout)[0]
    assert network["Labels"] == {"dev.bestshot.devenv.project": project}
    assert volume["Labels"] == {"dev.bestshot.devenv.role": "unit"}
    again = run_module(capsys, module, **args)
    assert again["changed"] is False and again["volumes_created"] == []


def test_one_call_makes_the_volumes_of_several_phases_each_with_its_own_labels(capsys, project):
    made = run_module(capsys, module, network=f"{project}-net", volume_labels={"dev.bestshot.devenv.project": project},
                      volumes=[{"name": f"{project}-data", "labels": {"dev.bestshot.devenv.role": "postgres"}},
                               {"name": f"{project}-logs", "labels": {"dev.bestshot.devenv.role": "sentry"}}])
    assert made["volumes_created"] == [f"{project}-data", f"{project}-logs"]
    for volume, role in (("data", "postgres"), ("logs", "sentry")):
        labels = json.loads(docker("volume", "inspect", f"{project}-{volume}").stdout)[0]["Labels"]
        assert labels == {"dev.bestshot.devenv.project": project, "dev.bestshot.devenv.role": role}


def test_a_volume_given_as_neither_a_name_nor_name_and_labels_fails_before_anything_is_made(capsys, project):
    failed = run_module(capsys, module, network=f"{project}-net",
                        volumes=[f"{project}-data", {"name": f"{project}-logs", "driver": "local"}])
    assert failed["failed"] is True and "volumes: each is a name or a dict with name and labels" in failed["msg"]
    assert docker("network", "inspect", f"{project}-net").returncode != 0
    assert docker("volume", "inspect", f"{project}-data").returncode != 0


def test_a_container_that_is_not_there_is_not_removed_and_a_missing_one_cannot_be_started(capsys, project):
    args = dict(network=f"{project}-net", remove=[f"{project}-gone"])
    assert run_module(capsys, module, **args)["removed"] == []
    failed = run_module(capsys, module, network=f"{project}-net", start=[f"{project}-gone"])
    assert failed["failed"] is True and f"{project}-gone" in failed["msg"]


def test_a_purge_removes_containers_with_their_anonymous_volumes_then_named_volumes_and_needs_no_network(capsys, project):
    docker("volume", "create", f"{project}-data")
    # A container (never started) with an anonymous volume (-v /scratch) and the named one.
    never_started(f"{project}-c", "-v", "/scratch", "-v", f"{project}-data:/data")
    anonymous = [m["Name"] for m in json.loads(docker("inspect", f"{project}-c").stdout)[0]["Mounts"] if m["Type"] == "volume"
                 and m["Name"] != f"{project}-data"]
    args = dict(remove=[f"{project}-c", f"{project}-gone"], remove_anonymous_volumes=True,
                remove_volumes=[f"{project}-data", f"{project}-gone"])
    checked = run_module(capsys, module, check_mode=True, **args)
    assert (checked["removed"], checked["volumes_removed"]) == ([f"{project}-c"], [f"{project}-data"])
    assert docker("inspect", f"{project}-c").returncode == 0  # check mode removed nothing
    made = run_module(capsys, module, **args)
    assert made["changed"] is True and (made["removed"], made["volumes_removed"]) == ([f"{project}-c"], [f"{project}-data"])
    assert docker("inspect", f"{project}-c").returncode != 0
    assert docker("volume", "inspect", f"{project}-data").returncode != 0
    assert anonymous and docker("volume", "inspect", anonymous[0]).returncode != 0  # it went with its container
    assert docker("network", "inspect", f"{project}-net").returncode != 0  # no network made for a purge
    assert run_module(capsys, module, **args)["changed"] is False


def test_a_declared_container_becomes_the_engine_s_create_request():
    body = module.container_body({
        "name": "p-postgres", "image": "postgres:17", "command": "postgres -c 'search_path=a, b'", "user": "999",
        "env": {"PGDATA": "/data", "PORT": 5432}, "labels": {"dev.bestshot.devenv.project": "p"},
        "mounts": [{"type": "volume", "source": "p-data", "target": "/data"},
                   {"type": "bind", "source": "/etc/p", "target": "/etc/p", "read_only": True},
                   {"type": "tmpfs", "target": "/run/p"}],
        "published_ports": ["127.0.0.1:15432:5432", "[::1]:15433:5433", "8125:8125/udp"],
        "stop_timeout": 60, "alias": "postgres",
        "healthcheck": {"test": ["CMD", "pg_isready"], "interval": "2s", "timeout": "1m30s", "retries": 5,
                        "start_period": "500ms"},
    }, "p-devenv")
    assert body["Cmd"] == ["postgres", "-c", "search_path=a, b"]
    assert body["Env"] == ["PGDATA=/data", "PORT=5432"] and body["User"] == "999" and body["StopTimeout"] == 60
    assert body["HostConfig"]["PortBindings"] == {
        "5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": "15432"}],
        "5433/tcp": [{"HostIp": "::1", "HostPort": "15433"}],
        "8125/udp": [{"HostIp": "", "HostPort": "8125"}]}
    assert set(body["ExposedPorts"]) == {"5432/tcp", "5433/tcp", "8125/udp"}
    assert body["HostConfig"]["Mounts"] == [
        {"Type": "volume", "Source": "p-data", "Target": "/data", "ReadOnly": False},
        {"Type": "bind", "Source": "/etc/p", "Target": "/etc/p", "ReadOnly": True},
        {"Type": "tmpfs", "Target": "/run/p", "ReadOnly": False}]
    assert body["HostConfig"]["RestartPolicy"] == {"Name": "unless-stopped"}
    assert body["HostConfig"]["NetworkMode"] == "p-devenv"
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"p-devenv": {"Aliases": ["postgres"]}}}
    assert body["Healthcheck"] == {"Test": ["CMD", "pg_isready"], "Interval": 2 * 10**9, "Timeout": 90 * 10**9,
                                   "Retries": 5, "StartPeriod": 5 * 10**8}


def test_a_bad_duration_fails_before_anything_is_made(capsys, project):
    result = run_module(capsys, module, network=f"{project}-net", containers=[{
        "name": f"{project}-c", "image": "postgres:17", "healthcheck": {"test": ["CMD", "true"], "interval": "2 s"}}])
    assert result["failed"] is True and "not a duration" in result["msg"]
    assert docker("network", "inspect", f"{project}-net").returncode != 0


def test_a_stop_leaves_a_container_that_is_not_running_or_does_not_exist_as_it_is(capsys, project):
    never_started(f"{project}-c")
    stopped = run_module(capsys, module, stop=[f"{project}-c", f"{project}-gone"])
    assert stopped["changed"] is False and stopped["stopped"] == []
    assert json.loads(docker("inspect", f"{project}-c").stdout)[0]["State"]["Status"] == "created"
