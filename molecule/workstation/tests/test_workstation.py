"""The bootstrap phase on two fresh Debian workstations provisioned at once over SSH: each ends up with a running
Docker engine its user reaches without sudo, psql, aws and awslocal on the login PATH, and the Python libraries the
phases' modules need - enough for the base phase to run on both from the same inventory, each with its own secrets."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import recap, run_playbook

INSTANCES = {"ws1": "bestshot-test-ws1", "ws2": "bestshot-test-ws2"}
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
FRESH = "bestshot-test-fresh"
# As prepare.yml starts the workstations: able to run their own Docker engine.
INSTANCE_OPTIONS = ["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined",
                    "--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined",
                    "--device-cgroup-rule", "a *:* rwm", "--mount", "type=bind,source=/sys/fs/cgroup,target=/sys/fs/cgroup",
                    "--mount", "type=volume,target=/var/lib/docker"]


def on(container: str, command: str, user: str = "dev", check: bool = True) -> subprocess.CompletedProcess:
    """Runs a command in a login shell of the user on the workstation, as that user would at their terminal."""
    proc = subprocess.run(["docker", "exec", "-u", user, container, "bash", "-lc", command], capture_output=True,
                          text=True, timeout=300, check=False)
    if check:
        assert proc.returncode == 0, f"{command} on {container}: {proc.stdout}{proc.stderr}"
    return proc


@pytest.fixture
def fresh_workstation(tmp_path):
    """A third workstation, untouched, in an inventory of its own; yields that inventory's path."""
    subprocess.run(["docker", "rm", "-f", "-v", FRESH], capture_output=True, check=False)
    subprocess.run(["docker", "run", "-d", "--name", FRESH, *INSTANCE_OPTIONS, "-p", "127.0.0.1:22203:22",
                    "--label", "dev.bestshot.devenv.test=workstation", "bestshot-test/workstation:trixie"],
                   capture_output=True, check=True)
    key = (EPHEMERAL / "id_ed25519.pub").read_text()
    subprocess.run(["docker", "exec", "-i", "-u", "dev", FRESH, "sh", "-c", "cat > ~/.ssh/authorized_keys"],
                   input=key, text=True, check=True)
    deadline = time.monotonic() + 60
    while subprocess.run(["docker", "exec", FRESH, "pgrep", "-x", "sshd"], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "sshd did not start"
        time.sleep(1)
    time.sleep(1)
    inventory = {
        "workstations": {
            "hosts": {"fresh": {"ansible_port": 22203}},
            "vars": {
                "ansible_host": "127.0.0.1",
                "ansible_user": "dev",
                "ansible_python_interpreter": "/usr/bin/python3",
                "ansible_ssh_private_key_file": str(EPHEMERAL / "id_ed25519"),
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                **{f"devenv_{phase}_enabled": False for phase in ("base", "aws", "monitoring", "tools")},
            },
        }
    }
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    yield str(path)
    subprocess.run(["docker", "rm", "-f", "-v", FRESH], capture_output=True, check=False)


@pytest.mark.parametrize("name", INSTANCES)
def test_docker_engine_runs_and_the_user_reaches_it_without_sudo(name):
    version = on(INSTANCES[name], "docker info --format '{{.ServerVersion}}'").stdout.strip()
    assert version and version[0].isdigit()
    assert "docker" in on(INSTANCES[name], "id -nG").stdout.split()
    assert on(INSTANCES[name], "pidof dockerd", user="root").stdout.strip()


@pytest.mark.parametrize("name", INSTANCES)
def test_psql_aws_and_awslocal_are_on_the_login_path(name):
    out = on(INSTANCES[name], "psql --version && aws --version 2>&1 && command -v awslocal").stdout
    assert "psql (PostgreSQL)" in out and "aws-cli/1.46.3" in out and out.strip().endswith("/.local/bin/awslocal")


@pytest.mark.parametrize("name", INSTANCES)
def test_the_python_environment_has_the_modules_libraries(name):
    check = "import requests, boto3, psycopg; print(boto3.__version__)"
    out = on(INSTANCES[name], f'~/.local/share/bestshot-devenv/venv/bin/python -c "{check}"').stdout
    assert out.strip() == "1.44.8"


def test_check_mode_on_the_provisioned_workstations_reports_no_change():
    proc = run_playbook("site.yml", "--check")
    assert recap(proc.output)["changed"] == 0
    assert proc.output.count("Docker engine running") == 2  # the status of each workstation


def test_check_mode_on_a_fresh_workstation_completes_and_installs_nothing(fresh_workstation):
    proc = run_playbook("site.yml", "--check", inventory=fresh_workstation)
    assert recap(proc.output)["failed"] == 0
    assert on(FRESH, "command -v dockerd psql || true").stdout.strip() == ""
    assert on(FRESH, "test -e ~/.local/share/bestshot-devenv", check=False).returncode != 0


def test_an_unsupported_system_fails_before_anything_changes(fresh_workstation):
    on(FRESH, "echo 3.20.3 > /etc/alpine-release && sed -i 's/^ID=.*/ID=alpine/' /etc/os-release", user="root")
    proc = run_playbook("site.yml", inventory=fresh_workstation, expect_rc=2)
    assert "supports Debian and Ubuntu" in proc.output and "devenv_bootstrap_enabled=false" in proc.output
    assert on(FRESH, "command -v dockerd psql || true").stdout.strip() == ""


def test_the_base_phase_runs_on_both_workstations_each_with_its_own_secrets():
    image = subprocess.Popen(["docker", "save", "postgres:17"], stdout=subprocess.PIPE)
    data = image.stdout.read()
    image.wait()
    for container in INSTANCES.values():  # no registry inside either: give each engine the (stand-in) image
        subprocess.run(["docker", "exec", "-i", container, "docker", "load"], input=data, capture_output=True,
                       check=True, timeout=600)
    proc = run_playbook("site.yml", "--tags", "base", "-e", "devenv_base_enabled=true")
    assert len(re.findall(r"base +PostgreSQL +running +healthy +postgresql://127.0.0.1:5432", proc.output)) == 2
    passwords = set()
    for container in INSTANCES.values():
        query = "set -a; . ~/.config/bestshot-devenv/devenv.env; psql -tA -c 'SELECT current_user'"
        assert on(container, query).stdout.strip() == "bestshot"
        passwords.add(on(container, "cat ~/.config/bestshot-devenv/secrets/postgres-app-password").stdout)
    assert len(passwords) == 2
