#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: devenv_services
short_description: Make a phase's network, volumes and containers as declared, in one call
version_added: 1.2.0
description:
  - Applies what C(bestshot.devenv)'s entry point C(services) worked out from one listing of the phase (its plan) -
    the project network and named volumes to create, the containers to create or recreate and start, those only
    stopped to start, and those of services switched off to remove - in one call to the Docker Engine API.
  - Also what C(playbooks/teardown.yml) stops (entry point C(stop)) or purges (entry point C(purge)) of every
    selected phase at once. Stopped side by side, each with its own stop timeout; purged, the containers with their
    anonymous volumes, then named volumes.
  - It does not compare containers itself. The plan names what differs (by a digest of each container's declared
    options, which is one of its labels, and the ID of the local image its tag names). A container to recreate is
    stopped (with its O(containers[].stop_timeout)) and removed first; its anonymous volumes are kept, as
    C(community.docker.docker_container) keeps them.
  - Containers are created and started, and stopped ones started, side by side (up to eight at once).
    C(community.docker.docker_container) would take a call of its own per container, most of it spent loading the
    module and comparing the container in full.
  - An image that is missing is pulled with the C(docker) command line client.
author:
  - bestshot.devenv maintainers (@bestshot)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - bestshot.devenv.engine
attributes:
  check_mode:
    support: full
    details: Reports what it would create, start or remove; asks the engine only whether the network, the volumes
      and the images exist.
  diff_mode:
    support: none
options:
  network:
    description:
      - The network the containers join; created (with O(network_labels)) when it does not exist.
      - Required with O(containers) or O(volumes); without it (a purge) no network is looked at.
    type: str
  network_labels:
    description: Labels of the network when it is created.
    type: dict
    default: {}
  volumes:
    description:
      - Named volumes to create when they do not exist, each a name or a dict with C(name) and C(labels) (its own
        labels, over O(volume_labels)). One call can so make the volumes of several phases, each with its labels.
    type: list
    elements: raw
    default: []
  volume_labels:
    description: Labels of every volume it creates.
    type: dict
    default: {}
  containers:
    description:
      - Containers to create, or to recreate when one of that name exists, then start. Each joins O(network) under
        its O(containers[].alias), with restart policy C(unless-stopped).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The container's name.
        type: str
        required: true
      image:
        description: The image reference; pulled when it is not there.
        type: str
        required: true
      command:
        description: The command, as a list or as a string split the way a shell would.
        type: raw
      user:
        description: The user the container runs as.
        type: str
      env:
        description: The environment (values may be secrets; the task that calls it should be C(no_log) then).
        type: dict
        default: {}
      mounts:
        description: Mounts, each with C(type) (C(volume), C(bind) or C(tmpfs)), C(source), C(target) and
          C(read_only).
        type: list
        elements: dict
        default: []
      published_ports:
        description: Ports to publish, each C(address:host_port:container_port) (optionally C(/udp)); an IPv6 address
          may be given in brackets.
        type: list
        elements: str
        default: []
      stop_timeout:
        description: Seconds Docker waits after C(SIGTERM) before it kills the container.
        type: int
      alias:
        description: The container's name on O(network).
        type: str
      healthcheck:
        description: The health check, as C(community.docker.docker_container) takes it (C(test), C(interval),
          C(timeout), C(retries), C(start_period); durations such as C(2s), C(5m) or C(1m30s)).
        type: dict
      labels:
        description: The container's labels.
        type: dict
        default: {}
  start:
    description: Existing containers to start (found stopped, as declared).
    type: list
    elements: str
    default: []
  stop:
    description: Containers to stop, side by side, each with the stop timeout it was made with (data kept). One that
      does not exist or is not running is left as it is.
    type: list
    elements: str
    default: []
  remove:
    description: Containers to remove, killed first when running (their volumes are kept, unless
      O(remove_anonymous_volumes)). A container that does not exist is left as it is.
    type: list
    elements: str
    default: []
  remove_anonymous_volumes:
    description: Whether the anonymous volumes of the containers in O(remove) go with them (a purge).
    type: bool
    default: false
  remove_volumes:
    description: Named volumes to remove once the containers in O(remove) are gone (the data is gone). A volume that
      does not exist is left as it is; one that a container still uses fails the call.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Make what the plan says differs
  bestshot.devenv.devenv_services:
    network: bestshot-devenv
    network_labels: {dev.bestshot.devenv.project: bestshot}
    volumes: [bestshot-postgres-data]
    volume_labels: {dev.bestshot.devenv.project: bestshot, dev.bestshot.devenv.role: postgres}
    containers:
      - name: bestshot-postgres
        image: postgres:17
        command: postgres -c max_connections=200
        env: {POSTGRES_PASSWORD_FILE: /run/secrets/postgres-superuser-password}
        mounts:
          - {type: volume, source: bestshot-postgres-data, target: /var/lib/postgresql/data}
        published_ports: ["127.0.0.1:5432:5432"]
        alias: postgres
        healthcheck:
          test: [CMD, pg_isready, -U, postgres]
          interval: 2s
          timeout: 5s
          retries: 5
          start_period: 120s
        labels: {dev.bestshot.devenv.project: bestshot}
  register: made

- name: Purge two phases at once (containers with their anonymous volumes, then their named volumes)
  bestshot.devenv.devenv_services:
    remove: [bestshot-postgres, bestshot-localstack]
    remove_anonymous_volumes: true
    remove_volumes: [bestshot-postgres-data, bestshot-localstack-data]

- name: The volumes of two phases, each with its own role label
  bestshot.devenv.devenv_services:
    network: bestshot-devenv
    volume_labels: {dev.bestshot.devenv.project: bestshot}
    volumes:
      - {name: bestshot-postgres-data, labels: {dev.bestshot.devenv.role: postgres}}
      - {name: bestshot-localstack-data, labels: {dev.bestshot.devenv.role: localstack}}
"""

RETURN = r"""
network_created:
  description: Whether the network was created (would be, in check mode).
  returned: always
  type: bool
volumes_created:
  description: The volumes created.
  returned: always
  type: list
  elements: str
created:
  description: The containers created or recreated, and started.
  returned: always
  type: list
  elements: str
  sample: ["bestshot-postgres"]
started:
  description: The existing containers started.
  returned: always
  type: list
  elements: str
stopped:
  description: The running containers stopped.
  returned: always
  type: list
  elements: str
removed:
  description: The containers removed.
  returned: always
  type: list
  elements: str
volumes_removed:
  description: The named volumes removed.
  returned: always
  type: list
  elements: str
"""

import os
import re
import shlex
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bestshot.devenv.plugins.module_utils.docker_cli import docker
from ansible_collections.bestshot.devenv.plugins.module_utils.engine import Engine, EngineError, start

DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
NANOSECONDS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def nanoseconds(duration):
    """A Go duration as Docker's CLI and community.docker take it ("2s", "1m30s", "500ms") in nanoseconds."""
    if isinstance(duration, (int, float)):
        return int(duration * 10**9)
    text = str(duration).strip()
    parts = DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"not a duration: {duration!r}")
    return int(sum(float(number) * NANOSECONDS[unit] for number, unit in parts))


def published(ports):
    """ExposedPorts and PortBindings for `address:host:container[/proto]` specs."""
    exposed, bindings = {}, {}
    for spec in ports:
        parts = spec.rsplit(":", 2)
        container = parts[-1] if "/" in parts[-1] else f"{parts[-1]}/tcp"
        host_port = parts[-2] if len(parts) >= 2 else ""
        address = parts[0].strip("[]") if len(parts) == 3 else ""
        exposed[container] = {}
        bindings.setdefault(container, []).append({"HostIp": address, "HostPort": host_port})
    return exposed, bindings


def healthcheck(spec):
    """Docker's Healthcheck from community.docker's healthcheck option."""
    test = spec["test"]
    if isinstance(test, str):
        test = ["NONE"] if test == "NONE" else ["CMD-SHELL", test]
    check = {"Test": list(test)}
    for option, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod")):
        if spec.get(option) is not None:
            check[key] = nanoseconds(spec[option])
    if spec.get("retries") is not None:
        check["Retries"] = int(spec["retries"])
    return check


def container_body(spec, network):
    """The body of POST /containers/create for a declared container."""
    command = spec.get("command")
    if isinstance(command, str):
        command = shlex.split(command)
    exposed, bindings = published(spec.get("published_ports") or [])
    mounts = [dict({"Type": mount.get("type", "volume"), "Target": mount["target"],
                    "ReadOnly": bool(mount.get("read_only", False))},
                   **({"Source": mount["source"]} if mount.get("source") else {}))
              for mount in spec.get("mounts") or []]
    body = {
        "Image": spec["image"],
        "Env": [f"{key}={value}" for key, value in sorted((spec.get("env") or {}).items())],
        "Labels": {key: str(value) for key, value in (spec.get("labels") or {}).items()},
        "ExposedPorts": exposed,
        "HostConfig": {
            "RestartPolicy": {"Name": "unless-stopped"},
            "PortBindings": bindings,
            "Mounts": mounts,
            "NetworkMode": network,
        },
        "NetworkingConfig": {"EndpointsConfig": {network: {"Aliases": [spec["alias"]] if spec.get("alias") else []}}},
    }
    if command:
        body["Cmd"] = [str(part) for part in command]
    if spec.get("user"):
        body["User"] = spec["user"]
    if spec.get("stop_timeout") is not None:
        body["StopTimeout"] = int(spec["stop_timeout"])
    if spec.get("healthcheck"):
        body["Healthcheck"] = healthcheck(spec["healthcheck"])
    return body


def volume_specs(volumes, labels):
    """Each volume given as a name or as {name, labels}, as (name, labels over the common ones)."""
    specs = []
    for volume in volumes:
        if isinstance(volume, str) and volume:
            specs.append((volume, dict(labels)))
        elif isinstance(volume, dict) and isinstance(volume.get("name"), str) and volume["name"] \
                and isinstance(volume.get("labels", {}), dict) and set(volume) <= {"name", "labels"}:
            specs.append((volume["name"], dict(labels, **volume.get("labels", {}))))
        else:
            raise ValueError(f"volumes: each is a name or a dict with name and labels, not {volume!r}")
    return specs


def make_container(module, engine, spec, network):
    """Recreates (or creates) and starts one container; returns an error line or None."""
    name = spec["name"]
    try:
        if engine.image_id(spec["image"]) is None:
            code, dummy, err = docker(module, "pull", spec["image"])
            if code != 0:
                return f"{name}: the image {spec['image']} is not there and could not be pulled ({err.strip()})"
        if engine.exists(f"/containers/{quote(name)}/json"):  # stopped with its own stop timeout, then removed
            engine.call("POST", f"/containers/{quote(name)}/stop")
            engine.call("DELETE", f"/containers/{quote(name)}?force=true")
        created = engine.call("POST", f"/containers/create?name={quote(name)}", container_body(spec, network))
        engine.call("POST", f"/containers/{created['Id']}/start")
    except (EngineError, ValueError) as error:
        return f"{name}: {error}"
    return None


def stop_container(engine, name, seconds):
    """Stops one running container (Docker waits its own stop timeout, `seconds`, before it kills it); returns an error
    line or None."""
    try:
        engine.call("POST", f"/containers/{quote(name)}/stop", timeout=seconds + 60)
    except EngineError as error:
        return f"{name}: {error}"
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            network=dict(type="str"),
            network_labels=dict(type="dict", default={}),
            volumes=dict(type="list", elements="raw", default=[]),
            volume_labels=dict(type="dict", default={}),
            containers=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    image=dict(type="str", required=True),
                    command=dict(type="raw"),
                    user=dict(type="str"),
                    env=dict(type="dict", default={}),
                    mounts=dict(type="list", elements="dict", default=[]),
                    published_ports=dict(type="list", elements="str", default=[]),
                    stop_timeout=dict(type="int"),
                    alias=dict(type="str"),
                    healthcheck=dict(type="dict"),
                    labels=dict(type="dict", default={}),
                ),
            ),
            start=dict(type="list", elements="str", default=[]),
            stop=dict(type="list", elements="str", default=[]),
            remove=dict(type="list", elements="str", default=[]),
            remove_anonymous_volumes=dict(type="bool", default=False),
            remove_volumes=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, network_created=False, volumes_created=[], created=[], started=[], stopped=[],
                  removed=[], volumes_removed=[])
    if (params["containers"] or params["volumes"]) and not params["network"]:
        module.fail_json(msg="network is required with containers or volumes", **result)
    try:
        engine = Engine(os.environ)
        volumes = volume_specs(params["volumes"], params["volume_labels"])  # bad input fails before anything is made
        for spec in params["containers"]:
            container_body(spec, params["network"])
        network = params["network"]
        if network is not None and not engine.exists(f"/networks/{quote(network)}"):
            if not module.check_mode:
                engine.call("POST", "/networks/create",
                            {"Name": network, "CheckDuplicate": True, "Labels": params["network_labels"]})
            result["network_created"] = True
        for volume, labels in volumes:
            if not engine.exists(f"/volumes/{quote(volume)}"):
                if not module.check_mode:
                    engine.call("POST", "/volumes/create", {"Name": volume, "Labels": labels})
                result["volumes_created"].append(volume)
        running = {name: details for name, details in ((name, engine.inspect(name) or {}) for name in params["stop"])
                   if (details.get("State") or {}).get("Running")}
        result["stopped"] = list(running)
        anonymous = "&v=true" if params["remove_anonymous_volumes"] else ""
        for name in params["remove"]:
            if engine.exists(f"/containers/{quote(name)}/json"):
                if not module.check_mode:
                    engine.call("DELETE", f"/containers/{quote(name)}?force=true{anonymous}")
                result["removed"].append(name)
        for volume in params["remove_volumes"]:
            if engine.exists(f"/volumes/{quote(volume)}"):
                if not module.check_mode:
                    engine.call("DELETE", f"/volumes/{quote(volume)}")
                result["volumes_removed"].append(volume)
    except (EngineError, ValueError) as error:
        module.fail_json(msg=str(error), **result)
    result["created"] = [spec["name"] for spec in params["containers"]]
    result["started"] = list(params["start"])
    errors = []
    if not module.check_mode:
        jobs = len(params["containers"]) + len(params["start"]) + len(result["stopped"])
        with ThreadPoolExecutor(max_workers=max(1, min(8, jobs))) as pool:
            made = pool.map(lambda spec: make_container(module, engine, spec, network), params["containers"])
            started = pool.map(lambda name: start(engine, name), params["start"])
            stopped = pool.map(lambda name: stop_container(engine, name, running[name]["Config"].get("StopTimeout") or 10),
                               result["stopped"])
            errors = [error for error in [*made, *started, *stopped] if error]
    result["changed"] = bool(result["network_created"] or result["volumes_created"] or result["created"]
                             or result["started"] or result["stopped"] or result["removed"]
                             or result["volumes_removed"])
    if errors:
        module.fail_json(msg="Could not make, start or stop every container: " + "; ".join(errors), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
