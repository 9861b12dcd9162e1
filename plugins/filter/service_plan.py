# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter bestshot.devenv.service_plan (documented in service_plan.yml beside this file)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.bestshot.devenv.plugins.filter.labelled import labelled
from ansible_collections.bestshot.devenv.plugins.module_utils.labels import LABEL

# The options of a service that make its container: a change to any of them (or to its resolved environment, or to
# the network) recreates it. The others are for the mechanism and for status.
CONTAINER_KEYS = ("name", "image", "command", "user", "mounts", "published_ports", "stop_timeout", "alias",
                  "healthcheck")
HEALTHY = re.compile(r"[(]healthy[)]")


def _plain(value):
    """The value as plain JSON types (Ansible may hand over its own containers and tagged strings)."""
    return json.loads(json.dumps(value))


def _flag(value):
    """A switch as Ansible reads one ("no", "false", ... are off)."""
    return boolean(value, strict=False) if isinstance(value, str) else bool(value)


def _image_ref(image):
    """The image as Docker lists it among an image's RepoTags (":latest" when no tag or digest is given)."""
    return image if ":" in image.split("/")[-1] or "@" in image else image + ":latest"


def _spec_digest(service, env, network):
    """The digest of what makes the container: it reveals nothing of the secrets in its environment."""
    spec = {key: service[key] for key in CONTAINER_KEYS if key in service}
    spec.update(env=env, network=network)
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _labels(service, digest, project, role, phase):
    labels = {
        LABEL + "project": project,
        LABEL + "role": role,
        LABEL + "phase": phase,
        LABEL + "service": service["title"],
        LABEL + "url": service.get("url", ""),
        LABEL + "credentials": service.get("credentials", ""),
        LABEL + "spec": digest,
    }
    if "status_command" in service:
        labels[LABEL + "status-command"] = json.dumps(service["status_command"])
    return labels


def service_plan(services, found, project, role, phase, network, volumes, secrets=None, network_made=False):
    """What a phase must make, start or remove so that its containers run as its services declare them.

    ``services`` are the phase's declared services, ``found`` a listing of the engine as the module
    ``bestshot.devenv.devenv_listing`` returns it (containers, volumes, networks, images; the shapes of
    ``community.docker.docker_host_info`` with ``verbose_output``).
    """
    if not isinstance(services, Sequence) or isinstance(services, (str, bytes)):
        raise AnsibleFilterError(f"service_plan expects the list of a phase's services, got {type(services).__name__}")
    if not isinstance(found, Mapping):
        raise AnsibleFilterError(f"service_plan expects a Docker listing (a dict) as found, got {type(found).__name__}")
    services = _plain(list(services))
    found = _plain(dict(found))
    secrets = secrets or {}
    for index, service in enumerate(services):
        missing = [key for key in ("name", "image", "title") if not isinstance(service, dict) or key not in service]
        if missing:
            raise AnsibleFilterError(f"service_plan: service {index} lacks {', '.join(missing)}")

    containers = labelled(found.get("containers"), project, role)
    networks = [item.get("Id") for item in found.get("networks") or [] if item.get("Name") == network]
    network_id = networks[0] if networks else None
    images = found.get("images") or []

    # What runs, and what is stopped, of each container: its spec digest and image (and, stopped, its network).
    running, stopped, names, healthy = {}, {}, [], []
    for container in containers:
        name = container["Names"][0].strip("/")
        names.append(name)
        spec = f"{(container.get('Labels') or {}).get(LABEL + 'spec', '')}@{container.get('ImageID', '')}"
        if container.get("State") == "running":
            running[name] = spec
        elif container.get("State") in ("exited", "created"):
            attached = ((container.get("NetworkSettings") or {}).get("Networks") or {}).get(network) or {}
            stopped[name] = f"{spec}@{attached.get('NetworkID', '')}"
        if HEALTHY.search(container.get("Status") or ""):
            healthy.append(name)

    declared = [service["name"] for service in services]
    enabled = [service for service in services if _flag(service.get("enabled", True))]
    start, outdated, made = [], [], []
    for service in enabled:
        env = dict(service.get("env") or {})
        env.update({key: secrets.get(secret, "") for key, secret in (service.get("secret_env") or {}).items()})
        digest = _spec_digest(service, env, network)
        ref = _image_ref(service["image"])
        image = next((item["Id"] for item in images if ref in (item.get("RepoTags") or [])), "missing")
        spec = f"{digest}@{image}"
        if network_id and stopped.get(service["name"]) == f"{spec}@{network_id}":
            start.append(service["name"])
        elif running.get(service["name"]) != spec:
            outdated.append(service["name"])
            made.append({key: service[key] for key in CONTAINER_KEYS if key in service}
                        | {"env": env, "labels": _labels(service, digest, project, role, phase)})

    network_missing = not network_made and network_id is None
    found_volumes = {item.get("Name") for item in found.get("volumes") or []}
    missing_volumes = [volume for volume in volumes if volume not in found_volumes]
    enabled_names = [service["name"] for service in enabled]
    remove = [name for name in declared if name not in enabled_names and name in names]
    return {
        "declared": declared,
        "enabled": enabled_names,
        "timeout": max([int(service.get("timeout", 0)) for service in enabled] + [0]),
        "network": network_missing,
        "volumes": missing_volumes,
        "start": start,
        "outdated": outdated,
        "remove": remove,
        "healthy": healthy,
        "make": {
            "network": network_missing,
            "volumes": [{"name": volume, "labels": {LABEL + "role": role}} for volume in missing_volumes],
            "containers": made,
            "start": start,
            "remove": remove,
            "no_log": any(_flag(service.get("no_log", False)) for service in enabled
                          if service["name"] in outdated),
        },
    }


class FilterModule:
    """Filters of bestshot.devenv."""

    def filters(self):
        return {"service_plan": service_plan}
