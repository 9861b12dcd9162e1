"""The bootstrap phase on two fresh Debian workstations provisioned at once over SSH: each ends up with a running
Docker engine its user reaches without sudo, psql, aws and awslocal on the login PATH, and the Python libraries the
phases' modules need - enough for the base phase to run on both from the same inventory, each with its own secrets.
And Node.js through mise, from the stand-in download sites (prepare.yml): the team's version global, the version an
app checkout pins with Volta installed, .nvmrc honoured per directory."""

from __future__ import annotations

import json
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


TEAM_NODE, PINNED_NODE = "24.19.0", "22.20.0"  # the role's default; what ~/src/volta-app pins (prepare.yml)


def installed_node(container: str) -> list[str]:
    return [line.split()[1] for line in on(container, "mise ls --installed node").stdout.splitlines()]


@pytest.mark.parametrize("name", INSTANCES)
def test_node_and_npm_work_in_a_login_shell_through_mise(name):
    out = on(INSTANCES[name], "node --version && npm --version && command -v node && mise --version").stdout.split()
    assert out[0] == f"v{TEAM_NODE}" and out[1] == "11.17.0"
    assert out[2] == "/home/dev/.local/share/mise/shims/node"
    assert out[3] == "2026.10.25"


def test_the_version_an_app_pins_with_volta_is_installed():
    # ws1 lists ~/src/volta-app in workstation_app_paths; ws2 has the same checkout but does not list it.
    assert sorted(installed_node(INSTANCES["ws1"])) == sorted([PINNED_NODE, TEAM_NODE])
    assert installed_node(INSTANCES["ws2"]) == [TEAM_NODE]
    # The one-line move off Volta the README shows: mise then uses the pinned version in that checkout.
    out = on(INSTANCES["ws1"], f"cd ~/src/volta-app && node --version && echo {PINNED_NODE} > .node-version "
                               "&& node --version; rm -f .node-version").stdout.split()
    assert out == [f"v{TEAM_NODE}", f"v{PINNED_NODE}"]


def test_in_a_checkout_with_nvmrc_that_version_is_used():
    assert on(INSTANCES["ws1"], "cd ~/src/nvm-app && node --version && npm --version").stdout.split() == [
        f"v{PINNED_NODE}", "10.9.3"]
    assert on(INSTANCES["ws1"], "cd ~/src && node --version").stdout.strip() == f"v{TEAM_NODE}"


def test_mise_is_activated_for_bash_and_zsh_in_marked_blocks_and_corepack_is_enabled():
    container = INSTANCES["ws2"]
    for name, line in ((".bashrc", "mise activate bash"), (".zshrc", "mise activate zsh"),
                       (".profile", "mise/shims:$PATH"), (".zprofile", "mise/shims:$PATH")):
        text = on(container, f"cat ~/{name}").stdout
        assert text.count("# BEGIN mise (managed by bestshot.devenv)") == 1 and line in text, name
    assert on(container, "bash -ic 'echo $MISE_SHELL' 2>/dev/null").stdout.strip() == "bash"
    # corepack's yarn and pnpm, with mise's shims (they fetch the package manager a repo's packageManager names).
    out = on(container, "command -v yarn pnpm && ls ~/.local/share/mise/installs/node/*/bin/").stdout
    assert "/home/dev/.local/share/mise/shims/yarn" in out and "pnpm" in out


def test_check_mode_on_the_provisioned_workstations_reports_no_change():
    proc = run_playbook("site.yml", "--check")
    assert recap(proc.output)["changed"] == 0
    assert proc.output.count("Docker engine running") == 2  # the status of each workstation


def test_check_mode_on_a_fresh_workstation_completes_and_installs_nothing(fresh_workstation):
    proc = run_playbook("site.yml", "--check", inventory=fresh_workstation)
    assert recap(proc.output)["failed"] == 0
    assert on(FRESH, "command -v dockerd psql || true").stdout.strip() == ""
    assert on(FRESH, "test -e ~/.local/share/bestshot-devenv", check=False).returncode != 0
    assert on(FRESH, "ls ~/.local/bin/mise ~/.local/share/mise ~/.config/mise ~/.zshrc 2>/dev/null || true").stdout == ""
    assert "mise" not in on(FRESH, "cat ~/.bashrc ~/.profile").stdout


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("workstation_node_versions", ["lts"], "workstation_node_versions must list exact Node.js versions"),
        ("workstation_app_paths", ["src/shop"], "workstation_app_paths must list absolute paths"),
    ],
)
def test_bad_node_settings_fail_before_anything_changes(fresh_workstation, variable, value, expected):
    proc = run_playbook("site.yml", "-e", json.dumps({variable: value}), inventory=fresh_workstation, expect_rc=2)
    assert expected in proc.output
    assert on(FRESH, "command -v dockerd psql mise || true").stdout.strip() == ""


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
