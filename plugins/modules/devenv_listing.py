#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: devenv_listing
short_description: List what the Docker engine holds for a project, check the host ports it publishes, wait until healthy
version_added: 1.1.0
description:
  - Lists, in one call to the Docker Engine API, every container (running or not, with the ports it publishes and
    its labels), the volumes labelled with O(project), the network O(network) and the images. The result has the
    keys and shapes that C(community.docker.docker_host_info) returns with C(verbose_output), so the phases of
    C(bestshot.devenv) read either.
  - Then checks each port of O(ports) on O(bind_address) - or on any address that overlaps it - is free, or
    published by the one container named with it. For a port no container of the listing publishes, the listening
    TCP sockets are asked (C(ss) from iproute2, when it is installed) and what holds the port is named by its
    program and pid, when the system says.
  - Fails before anything is created, with one message per port that something else holds, naming the variable
    that sets the port, the port and what holds it.
  - With O(healthy), it first waits until those containers are healthy, then lists them as they are once started
    (the one wait of C(bestshot.devenv)).
author:
  - bestshot.devenv maintainers (@bestshot)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - bestshot.devenv.engine
attributes:
  check_mode:
    support: full
    details: Changes nothing in any mode.
  diff_mode:
    support: none
options:
  project:
    description: The project whose volumes are listed (label C(dev.bestshot.devenv.project)).
    type: str
    required: true
  network:
    description: The project's network, listed when it exists.
    type: str
  ports:
    description: The host ports to check, each with the variable that sets it and the container allowed to hold it.
    type: list
    elements: dict
    default: []
    suboptions:
      var:
        description: The variable that sets the port (named in the message).
        type: str
        required: true
      port:
        description: The port number.
        type: int
        required: true
      container:
        description: The container that publishes it, which may hold it already.
        type: str
        required: true
  bind_address:
    description: The host address the ports are published on.
    type: str
    default: 127.0.0.1
  healthy:
    description:
      - Containers to wait for before listing, until each is running and healthy (or running without a health
        check). The engine is asked twice a second. The wait gives up on one that is not running (it will not
        become healthy) and after O(timeout).
      - One that does not become healthy does not fail the module; RV(unhealthy) names it and RV(health) says how
        each was last seen, for the caller to say what to do.
    type: list
    elements: str
    default: []
  timeout:
    description: The seconds the wait for O(healthy) may take.
    type: int
    default: 300
  images:
    description: Whether to list the images (to plan containers; a status does not need them).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: List the project's containers, volumes and network, and check the ports its phases publish
  bestshot.devenv.devenv_listing:
    project: bestshot
    network: bestshot-devenv
    ports:
      - {var: postgres_port, port: 5432, container: bestshot-postgres}
  register: listing

- name: Only the listing (the stack's status)
  bestshot.devenv.devenv_listing:
    project: bestshot
    images: false
  register: listing

- name: Wait until two containers are healthy, then list
  bestshot.devenv.devenv_listing:
    project: bestshot
    healthy: [bestshot-postgres, bestshot-pgadmin]
    timeout: 120
  register: listing

- name: Name a container that did not become healthy
  ansible.builtin.assert:
    that: listing.unhealthy | length == 0
    fail_msg: "Not healthy: {{ listing.unhealthy | join(', ') }} (as last seen: {{ listing.health }})"
"""

RETURN = r"""
containers:
  description: Every container, as the Engine API lists them (C(Names), C(Id), C(Image), C(ImageID), C(State),
    C(Status), C(Labels), C(Ports), ...).
  returned: always
  type: list
  elements: dict
volumes:
  description: The volumes labelled with O(project) (C(Name), C(Labels), ...).
  returned: always
  type: list
  elements: dict
networks:
  description: The network O(network) when it exists (C(Name), C(Id), C(Labels), ...).
  returned: always
  type: list
  elements: dict
images:
  description: Every image (C(Id), C(RepoTags), ...); empty with O(images=false).
  returned: always
  type: list
  elements: dict
health:
  description: How each container of O(healthy) was last seen, as C(state, health X) (C(running, health healthy)
    when it is healthy or has no health check; C(absent, health none) when there is none of that name).
  returned: always
  type: dict
  sample: {"bestshot-postgres": "running, health healthy", "bestshot-pgadmin": "running, health starting"}
unhealthy:
  description: The containers of O(healthy) that were not healthy when the wait ended, in the order given.
  returned: always
  type: list
  elements: str
  sample: ["bestshot-pgadmin"]
host_info:
  description: The engine's version.
  returned: when the engine answered
  type: dict
  sample: {"ServerVersion": "26.1.5"}
held:
  description: One message per port of O(ports) that something else holds (the module fails when there is one).
  returned: always
  type: list
  elements: str
"""

import json
import os
import re
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bestshot.devenv.plugins.module_utils.engine import HEALTHY, Engine, EngineError
from ansible_collections.bestshot.devenv.plugins.module_utils.labels import PROJECT_LABEL

# A line of `ss -H -l -t -n -p`: state, queues, local address:port, peer, then users:(("name",pid=N,fd=N)) when the
# system says. The address without brackets or an interface after %.
SS_LINE = re.compile(r"^\S+\s+\S+\s+\S+\s+\[?([^\]\s%]*)\]?(?:%[^:\s]+)?:([0-9]+)\s+\S+\s*(.*)$")
SS_USER = re.compile(r'^users:\(\("([^"]+)",pid=([0-9]+).*$')


def overlaps(address, bind_address):
    """Whether a listening address (as Docker and ss spell it) takes a port from bind_address: the wildcards, the
    address itself, and with 0.0.0.0 every IPv4 address."""
    if address in ("*", "::", "0.0.0.0"):
        return True
    address = address[len("::ffff:"):] if address.startswith("::ffff:") else address
    if bind_address == "0.0.0.0":
        return re.fullmatch(r"[0-9.]+", address) is not None
    return address == bind_address


def published(containers, bind_address):
    """port -> names of the running containers that publish it on an overlapping address."""
    found = {}
    for container in containers:
        if container.get("State") != "running":
            continue
        name = (container.get("Names") or ["?"])[0].lstrip("/")
        for port in container.get("Ports") or []:
            if "PublicPort" in port and overlaps(port.get("IP", ""), bind_address):
                found.setdefault(int(port["PublicPort"]), []).append(name)
    return {port: sorted(set(names), key=names.index) for port, names in found.items()}


def listening(ss_output, bind_address):
    """port -> the programs listening on it on an overlapping address ("name (pid N)", or a program of another
    user when the system does not say), from `ss -H -l -t -n -p`."""
    found = {}
    for line in ss_output.splitlines():
        match = SS_LINE.match(line)
        if match and overlaps(match.group(1), bind_address):
            users = match.group(3)
            program = SS_USER.sub(r"\1 (pid \2)", users) if users else ""
            found.setdefault(int(match.group(2)), []).append(program or "a program of another user")
    return found


def unowned(ports, containers):
    """The ports that the container named with each does not publish (free, or held by something else)."""
    return [item for item in ports if item["container"] not in containers.get(item["port"], [])]


def held(ports, containers, programs, bind_address):
    """One message per port (of those unowned() returns) that something holds: other containers, else the
    programs listening on it."""
    messages = []
    for item in ports:
        names = containers.get(item["port"], [])
        holders = [f"the Docker container {name}" for name in names] or programs.get(item["port"], [])
        holders = sorted(set(holders), key=holders.index)
        if holders:
            messages.append(f"{item['var']}: port {item['port']} on {bind_address} is already in use by "
                            f"{', '.join(holders)}. Stop it, or set {item['var']} to a free port.")
    return messages


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project=dict(type="str", required=True),
            network=dict(type="str"),
            ports=dict(type="list", elements="dict", default=[], options=dict(
                var=dict(type="str", required=True),
                port=dict(type="int", required=True),
                container=dict(type="str", required=True),
            )),
            bind_address=dict(type="str", default="127.0.0.1"),
            healthy=dict(type="list", elements="str", default=[]),
            timeout=dict(type="int", default=300),
            images=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, containers=[], volumes=[], networks=[], images=[], held=[], health={},
                  unhealthy=[])
    try:
        engine = Engine(os.environ)
        if params["healthy"]:
            result["health"] = engine.wait_healthy(params["healthy"], params["timeout"])
            result["unhealthy"] = [name for name in params["healthy"] if result["health"][name] != HEALTHY]
        labels = json.dumps({"label": [f"{PROJECT_LABEL}={params['project']}"]})
        result["host_info"] = {"ServerVersion": (engine.call("GET", "/version") or {}).get("Version")}
        result["containers"] = engine.call("GET", "/containers/json?all=1") or []
        result["volumes"] = (engine.call("GET", f"/volumes?filters={quote(labels)}") or {}).get("Volumes") or []
        if params["network"]:
            names = json.dumps({"name": [params["network"]]})  # Docker matches a part of the name: keep the whole
            result["networks"] = [network for network in engine.call("GET", f"/networks?filters={quote(names)}") or []
                                  if network.get("Name") == params["network"]]
        if params["images"]:
            result["images"] = engine.call("GET", "/images/json") or []
    except EngineError as error:
        module.fail_json(msg=str(error), **result)
    bind_address = params["bind_address"]
    containers = published(result["containers"], bind_address)
    ports = unowned(params["ports"], containers)
    programs = {}
    if ports:
        ss = module.get_bin_path("ss")  # without iproute2 only Docker's own listing is checked
        if ss:
            code, out, dummy = module.run_command([ss, "-H", "-l", "-t", "-n", "-p"], environ_update={"LC_ALL": "C"})
            programs = listening(out, bind_address) if code == 0 else {}
    result["held"] = held(ports, containers, programs, bind_address)
    if result["held"]:
        module.fail_json(msg=" ".join(result["held"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
