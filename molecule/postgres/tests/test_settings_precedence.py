"""Shared settings against a host's own: config.yml at the checkout's root is read with Ansible's usual precedence,
so a variable set on one host in the inventory wins over it (several workstations, one of them different)."""

from __future__ import annotations

import shutil

import yaml

from conftest import REPO, free_ports, inspect, read_env_file, run_playbook


def test_the_shared_file_applies_and_a_host_variable_in_the_inventory_wins_over_it(fresh_project, tmp_path):
    # A checkout's layout: its inventory directory as committed (group_vars links included) and the user's config.yml.
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "inventory", checkout / "inventory", symlinks=True)
    shared_port, host_port = free_ports(2)
    (checkout / "config.yml").write_text(yaml.safe_dump({"postgres_app_database": "shared_db",
                                                         "postgres_port": shared_port}))
    # This workstation's own variables, as inventory/hosts.yml shows them for a team's machines.
    hosts = checkout / "inventory" / "hosts.yml"
    localhost = yaml.safe_load(hosts.read_text())["workstations"]["hosts"]["localhost"]
    localhost.update(devenv_project=fresh_project["project"], devenv_home=str(fresh_project["home"]),
                     postgres_port=host_port)
    hosts.write_text(yaml.safe_dump({"workstations": {"hosts": {"localhost": localhost}}}))

    run_playbook("site.yml", "--tags", "base", inventory=str(hosts))

    bindings = inspect(f"{fresh_project['project']}-postgres")["HostConfig"]["PortBindings"]
    assert bindings == {"5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(host_port)}]}  # the host's own value
    url = read_env_file(fresh_project["home"] / "devenv.env")["DATABASE_URL"]
    assert url.endswith(f"@127.0.0.1:{host_port}/shared_db")  # and the shared file's
