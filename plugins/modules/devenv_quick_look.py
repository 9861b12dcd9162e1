#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: devenv_quick_look
short_description: Tell in one call whether a stack is still as the last complete run left it
version_added: 1.2.0
description:
  - A complete run of C(bestshot.devenv)'s C(site.yml) records what it left (O(record=true)) in a file of its own
    (O(path), mode 0600, beside the secrets it may hold). The record holds O(key) (a digest of the run's settings
    and the collection's code), the ID of each container in O(containers), a digest of each file in O(files), and
    what each read-only check in O(checks) answered.
  - A later run asks (O(record=false)) whether the stack is still like that, in one call. It is when the key is the
    same, every recorded container is the same one, running, healthy (or without a health check) and made from the
    image its tag names now, every file has the same content, and every check gives the same answer. The checks run
    side by side.
  - With O(start=true), a stack that differs only in that some of the recorded containers are stopped (the same
    containers, from the images their tags name now, every file the same) is brought back as it was left, the way
    C(docker compose start) would - its stopped containers are started, the call waits until they are healthy, then
    asks the checks. This is how a re-run after C(teardown) stop comes back without running any phase.
  - It also returns the project's containers, as C(community.docker.docker_host_info) lists them, for the status
    report.
  - A check's command runs as C(docker exec) runs it, its O(checks[].env) in the request to the engine, never in a
    process list.
author:
  - bestshot.devenv maintainers (@bestshot)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - bestshot.devenv.engine
attributes:
  check_mode:
    support: full
    details: Asking reads only, and starts nothing in check mode. Recording in check mode writes nothing and reports
      whether it would.
  diff_mode:
    support: none
options:
  path:
    description: The file the record is kept in. Its directory is made (0700) when missing; the one above it must
      exist.
    type: path
    required: true
  key:
    description: What the run asks for (a digest of its settings and code). A record made with another key does not
      count.
    type: str
    required: true
  project:
    description: The project whose containers are listed (label C(dev.bestshot.devenv.project)).
    type: str
    required: true
  record:
    description: Record what is found now (O(containers), O(files), O(checks)) instead of comparing with the record.
    type: bool
    default: false
  containers:
    description: When recording, the containers that must stay the same ones, running and healthy.
    type: list
    elements: str
    default: []
  files:
    description: When recording, the files whose content must stay the same (a missing one counts as such).
    type: list
    elements: path
    default: []
  checks:
    description:
      - When recording, read-only checks whose answers must stay the same. A check runs a command in a container
        (O(checks[].container), O(checks[].argv)) or reads a URL (O(checks[].url)).
      - A check that fails (a command's exit status other than 0, a URL's answer other than 200) never counts as
        the same.
      - Kept in the record (mode 0600), since they may carry a password.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: What the check is, as a difference names it.
        type: str
        required: true
      container:
        description:
          - The container the command runs in (C(docker exec)); with O(checks[].url), the container that answers it.
          - With O(start=true) a check is asked as soon as its container is healthy, while the others are still
            starting; a URL check without a container once all are.
        type: str
      argv:
        description: The command and its arguments.
        type: list
        elements: str
      env:
        description: Environment variables for the command.
        type: dict
        default: {}
      url:
        description: A URL to read with GET instead of a command.
        type: str
      headers:
        description: Headers for O(checks[].url).
        type: dict
        default: {}
      pattern:
        description:
          - Only what this regular expression finds in the answer counts (its first group where it has one), as a
            sorted set.
          - An answer where it finds nothing never counts as the same (for example a service that cannot say).
        type: str
      only:
        description: With O(checks[].pattern), only these of the values found count (so that what the app adds does
          not).
        type: list
        elements: str
  timeout:
    description: Seconds each check may take.
    type: int
    default: 20
  start:
    description:
      - When asking, start the recorded containers found stopped (side by side), if nothing else differs but the
        checks (which cannot answer while their containers are stopped); wait until they are healthy, asking each
        check as soon as its container is.
      - Reports C(changed) when it started a container.
    type: bool
    default: false
  wait:
    description: When recording, the seconds a later call with O(start=true) waits for the containers it started to
      become healthy (the longest time any of them may take).
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Record what the run left
  bestshot.devenv.devenv_quick_look:
    path: ~/.config/bestshot-devenv/secrets/quick-look.json
    key: "{{ settings_digest }}"
    project: bestshot
    record: true
    containers: [bestshot-postgres]
    files: [~/.config/bestshot-devenv/devenv.env]
    checks:
      - name: buckets
        url: http://127.0.0.1:4566/
        pattern: "<Name>([^<]+)</Name>"
        only: [uploads]
  no_log: true  # a check may carry a password

- name: Ask whether the stack is still like that
  bestshot.devenv.devenv_quick_look:
    path: ~/.config/bestshot-devenv/secrets/quick-look.json
    key: "{{ settings_digest }}"
    project: bestshot
  register: look

- name: Bring a stack back that was only stopped, or tell what else differs
  bestshot.devenv.devenv_quick_look:
    path: ~/.config/bestshot-devenv/secrets/quick-look.json
    key: "{{ settings_digest }}"
    project: bestshot
    start: true
  register: look
"""

RETURN = r"""
settled:
  description: Whether everything is as recorded (when asking), or whether a record was made (when recording).
  returned: always
  type: bool
differs:
  description: What differs from the record, one line each (no secret); empty when settled.
  returned: always
  type: list
  elements: str
  sample: ["container bestshot-postgres is exited", "check buckets answers differently"]
started:
  description: The containers it started (O(start=true)).
  returned: always
  type: list
  elements: str
  sample: ["bestshot-postgres"]
containers:
  description: The project's containers (C(Id), C(Names), C(Image), C(ImageID), C(Labels), C(State), C(Status)), as
    they are when it returns.
  returned: always
  type: list
  elements: dict
host_info:
  description: The engine's C(ServerVersion), or an empty dict when it could not be asked.
  returned: always
  type: dict
"""

import hashlib
import json
import os
import re
from urllib.parse import quote
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.bestshot.devenv.plugins.module_utils.engine import HEALTHY, Engine, EngineError, start
from ansible_collections.bestshot.devenv.plugins.module_utils.files import write_atomically
from ansible_collections.bestshot.devenv.plugins.module_utils.labels import PROJECT_LABEL


def listed(details):
    """A container of `docker inspect` as docker_host_info lists it (the fields status and teardown read)."""
    state = details.get("State") or {}
    health = (state.get("Health") or {}).get("Status")
    status = state.get("Status", "unknown")
    return {
        "Id": details.get("Id"),
        "Names": [details.get("Name", "")],
        "Image": (details.get("Config") or {}).get("Image"),
        "ImageID": details.get("Image"),
        "Labels": (details.get("Config") or {}).get("Labels") or {},
        "State": status,
        "Status": f"{'Up' if status == 'running' else status.capitalize()}{f' ({health})' if health else ''}",
    }


def project_containers(engine, project):
    """The project's containers, inspected (name -> details)."""
    labels = json.dumps({"label": [f"{PROJECT_LABEL}={project}"]})
    found = {}
    for container in engine.call("GET", f"/containers/json?all=1&filters={quote(labels)}") or []:
        details = engine.inspect(container["Id"])
        if details is not None:  # removed in between: not the project's any more
            found[details["Name"].lstrip("/")] = details
    return found


def image_ids(engine, references):
    """The ID of the local image each reference names now (absent when there is none)."""
    found = {}
    for reference in sorted(set(references)):
        image_id = engine.image_id(reference)
        if image_id is not None:
            found[reference] = image_id
    return found


def file_digest(path):
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except FileNotFoundError:
        return "absent"


def answer(engine, check, timeout):
    """What a check answers, reduced by its pattern; None when it could not be asked, failed or (with a pattern) found
    nothing: such an answer never counts as the same."""
    if check.get("url"):
        try:
            response = open_url(check["url"], headers=check.get("headers") or {}, timeout=timeout)
            text = response.read().decode("utf-8", errors="replace")
        except Exception:  # pylint: disable=broad-exception-caught
            # any failure (refused, a timeout, an answer other than 200): not answered
            return None
    else:
        env = {key: str(value) for key, value in (check.get("env") or {}).items()}
        try:
            code, text, dummy = engine.run(check["container"], check["argv"], env, timeout)
        except EngineError:
            return None
        if code != 0:
            return None
    if check.get("pattern"):
        values = {match if isinstance(match, str) else match[0] for match in re.findall(check["pattern"], text)}
        if check.get("only") is not None:
            values &= set(check["only"])
        return json.dumps(sorted(values)) if values else None
    return text


def fingerprint(text):
    """A check's answer as a SHA-256 (None: never the same)."""
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprints(engine, checks, timeout):
    """Each check's answer as a SHA-256 (None: never the same), the checks asked side by side."""
    if not checks:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(checks))) as pool:
        answers = list(pool.map(lambda check: answer(engine, check, timeout), checks))
    return {check["name"]: fingerprint(text) for check, text in zip(checks, answers)}


def container_differences(engine, wanted, found):
    """Lines for the recorded containers (name -> ID) that are gone, replaced, unhealthy or outdated, and the names of
    those that are only stopped (not running)."""
    differs, stopped = [], []
    for name, container_id in sorted(wanted.items()):
        details = found.get(name)
        if details is None:
            differs.append(f"container {name} is gone")
            continue
        if details.get("Id") != container_id:
            differs.append(f"container {name} was replaced")
        state = details.get("State") or {}
        if not state.get("Running"):
            stopped.append(name)
        health = (state.get("Health") or {}).get("Status")
        if state.get("Running") and health not in (None, "healthy"):
            differs.append(f"container {name} is {health}")
    references = {name: (found[name].get("Config") or {}).get("Image") for name in wanted if name in found}
    current = image_ids(engine, references.values())
    for name, reference in sorted(references.items()):
        if current.get(reference) != found[name].get("Image"):
            differs.append(f"container {name} is not made from the image {reference} names now")
    return differs, stopped


def start_healthy(engine, names, seconds, healthy):
    """Starts the containers side by side and waits until each is running and healthy (or has no health check),
    calling healthy(name) once for each as soon as it is; returns what went wrong, one line each (empty when all are
    healthy). Gives up on a container that stops again at once."""
    with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
        failed = [line for line in pool.map(lambda name: start(engine, name, seconds), names) if line]
    if failed:
        return [f"containers could not be started ({'; '.join(failed)})"]
    report = engine.wait_healthy(names, seconds, healthy)
    return [f"container {name} is {state} after a start" for name, state in sorted(report.items()) if state != HEALTHY]


def start_and_ask(engine, stopped, checks, seconds, timeout):
    """Starts the stopped containers (start_healthy) and asks each check as soon as its container is healthy (at once
    when it was running already; a URL check without a container once all are); returns (what went wrong, each
    check's fingerprint), the fingerprints empty when something went wrong."""
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(checks)))) as pool:
        asked = {}

        def ask(container):
            for check in checks:
                if check["name"] not in asked and (container is None or check.get("container") == container):
                    asked[check["name"]] = pool.submit(answer, engine, check, timeout)

        for name in {check.get("container") for check in checks} - set(stopped) - {None}:
            ask(name)
        differs = start_healthy(engine, stopped, seconds, ask)
        if differs:
            return differs, {}
        ask(None)
        return [], {name: fingerprint(future.result()) for name, future in asked.items()}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            key=dict(type="str", required=True, no_log=False),
            project=dict(type="str", required=True),
            record=dict(type="bool", default=False),
            containers=dict(type="list", elements="str", default=[]),
            files=dict(type="list", elements="path", default=[]),
            checks=dict(
                type="list",
                elements="dict",
                default=[],
                no_log=True,
                options=dict(
                    name=dict(type="str", required=True),
                    container=dict(type="str"),
                    argv=dict(type="list", elements="str"),
                    env=dict(type="dict", default={}),
                    url=dict(type="str"),
                    headers=dict(type="dict", default={}),
                    pattern=dict(type="str"),
                    only=dict(type="list", elements="str"),
                ),
                required_one_of=[("url", "argv")],
                required_by={"argv": "container"},
            ),
            timeout=dict(type="int", default=20),
            start=dict(type="bool", default=False),
            wait=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, settled=False, differs=[], started=[], containers=[], host_info={})

    try:
        engine = Engine(os.environ)
        result["host_info"] = {"ServerVersion": (engine.call("GET", "/version") or {}).get("Version")}
        found = project_containers(engine, params["project"])
    except EngineError:
        result["differs"] = ["the Docker engine could not be asked"]
        module.exit_json(**result)
    result["containers"] = [listed(found[name]) for name in sorted(found)]

    if params["record"]:
        missing = [name for name in params["containers"] if name not in found]
        if missing:
            module.fail_json(msg=f"Cannot record containers that do not exist: {', '.join(missing)}", **result)
        record = {
            "key": params["key"],
            "wait": params["wait"],
            "containers": {name: found[name]["Id"] for name in params["containers"]},
            "files": {path: file_digest(path) for path in params["files"]},
            "checks": [dict(check, answer=digest) for check, digest in
                       zip(params["checks"], fingerprints(engine, params["checks"], params["timeout"]).values())],
        }
        content = json.dumps(record, sort_keys=True, indent=1).encode("utf-8")
        try:
            with open(params["path"], "rb") as handle:
                before = handle.read()
        except FileNotFoundError:
            before = None
        result["changed"] = before != content
        if result["changed"] and not module.check_mode:
            directory = os.path.dirname(params["path"])
            if not os.path.isdir(os.path.dirname(directory)):
                module.fail_json(msg=f"Cannot record: the directory above {directory} does not exist", **result)
            os.makedirs(directory, mode=0o700, exist_ok=True)
            write_atomically(params["path"], content, 0o600)
        result["settled"] = True
        module.exit_json(**result)

    try:
        with open(params["path"], "rb") as handle:
            record = json.loads(handle.read())
    except FileNotFoundError:
        record = None
    except ValueError:
        record = None
        result["differs"].append("the record cannot be read")
    if record is None:
        result["differs"] = result["differs"] or ["nothing was recorded"]
        module.exit_json(**result)
    if record.get("key") != params["key"]:
        result["differs"] = ["the settings, the selected phases or the collection changed"]
        module.exit_json(**result)
    try:
        differs, stopped = container_differences(engine, record.get("containers") or {}, found)
    except EngineError:
        result["differs"] = ["the Docker engine could not be asked"]
        module.exit_json(**result)
    differs += [f"file {path} changed" for path, digest in sorted((record.get("files") or {}).items())
                if file_digest(path) != digest]
    checks = record.get("checks") or []
    now = None
    if stopped and not differs and params["start"] and not module.check_mode:
        differs, now = start_and_ask(engine, stopped, checks, int(record.get("wait") or 300), params["timeout"])
        result["changed"], result["started"] = True, stopped
        try:
            found = project_containers(engine, params["project"])
        except EngineError as error:
            differs.append(str(error))
        result["containers"] = [listed(found[name]) for name in sorted(found)]
    else:
        differs += [f"container {name} is {found[name]['State'].get('Status', 'not running')}" for name in stopped]
    if not differs:  # the checks ask the services: only when everything else is as recorded
        now = fingerprints(engine, checks, params["timeout"]) if now is None else now
        differs += [f"check {check['name']} answers differently" for check in checks
                    if now[check["name"]] is None or now[check["name"]] != check.get("answer")]
    result["differs"] = differs
    result["settled"] = not differs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
