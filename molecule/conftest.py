"""Helpers shared by every scenario's testinfra tests (pytest loads this file for molecule/*/tests)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service

REPO = Path(__file__).resolve().parent.parent
PROJECT = "bestshot"  # devenv_project in the scenarios
LABEL = "dev.bestshot.devenv.project"
# A page that redraws while a test reads it (pgAdmin's tree, Phoenix's tables): an element read mid-redraw is stale,
# and a WebDriverWait given ignored_exceptions=REDRAWN tries again.
REDRAWN = (StaleElementReferenceException,)


def state_dir(project: str = PROJECT) -> Path:
    """devenv_home for a project on this machine (the role default)."""
    return Path.home() / ".config" / f"{project}-devenv"


def read_env_file(path: Path | None = None) -> dict[str, str]:
    """The app's env file as a dict (KEY=value lines; markers and comments skipped)."""
    path = path or state_dir() / "devenv.env"
    values = {}
    if not path.exists():  # a purge removes the file once no phase has a block in it
        return values
    for line in path.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key] = value
    return values


def ansible_env(**settings: str) -> dict[str, str]:
    """The environment for ansible commands run from the checkout (its ansible.cfg and collection link)."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(REPO / ".ansible" / "collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        **settings,
    )
    return env


def run_playbook(*args: str, inventory: str | None = None, expect_rc: int | None = 0) -> subprocess.CompletedProcess:
    """Runs ansible-playbook from the checkout, as a user would, against the scenario's inventory.

    Returns the finished process; its ``output`` attribute holds stdout and stderr together.
    """
    env = ansible_env()
    inventory = inventory or os.environ.get("MOLECULE_INVENTORY_FILE") or str(REPO / "inventory" / "hosts.yml")
    executable = Path(sys.executable).parent / "ansible-playbook"
    cmd = [str(executable), "-i", inventory, *args]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    proc.output = proc.stdout + proc.stderr
    if expect_rc is not None and proc.returncode != expect_rc:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}, expected {expect_rc}:\n{proc.output[-6000:]}")
    return proc


def recap(output: str) -> dict[str, int]:
    """The PLAY RECAP counters of the last host line, e.g. {'ok': 12, 'changed': 0, 'failed': 0, ...}."""
    lines = [line for line in output.splitlines() if re.search(r"\bok=\d+\s+changed=\d+", line)]
    assert lines, f"no PLAY RECAP in output:\n{output[-3000:]}"
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", lines[-1])}


def task_ran(output: str, task: str) -> bool:
    """Whether a run's output shows the task (its name as the output prints it after the role) at work: ok or
    changed on the host, not skipped. The first task of that name counts."""
    body = output.split(f"{task}]", 1)[-1].split("TASK [", 1)[0] if f"{task}]" in output else ""
    return re.search(r"^(ok|changed): ", body, re.MULTILINE) is not None


def docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


def inspect(name: str) -> dict | None:
    """`docker inspect` of a container, volume or network, or None when it does not exist."""
    proc = docker("inspect", name)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def labelled(project: str) -> dict[str, list[str]]:
    """Names of every container, volume and network labelled with the given devenv_project."""
    found = {}
    for kind, fmt in (("container", "{{.Names}}"), ("volume", "{{.Name}}"), ("network", "{{.Name}}")):
        listing = ["ps", "-a"] if kind == "container" else [kind, "ls"]
        proc = docker(*listing, "--filter", f"label={LABEL}={project}", "--format", fmt)
        found[kind] = proc.stdout.split()
    return found


def assert_nothing_created(fresh: dict) -> None:
    """Neither a container, volume or network of the fresh project, nor its state directory, exists."""
    assert labelled(fresh["project"]) == {"container": [], "volume": [], "network": []}
    assert not fresh["home"].exists()


def run_with_bad_input(tags: str, fresh: dict, variable: str, value) -> str:
    """Runs site.yml for the given tags with one bad variable on a fresh project; checks that it failed before
    anything was created, and returns the output for the message checks."""
    extra = {**fresh["extra_vars"], variable: value}
    proc = run_playbook("site.yml", "--tags", tags, "-e", json.dumps(extra), expect_rc=2)
    assert_nothing_created(fresh)
    return proc.output


# Ports the tests pick at random. Below the kernel's ephemeral range (32768-60999 by default), where any client
# socket may hold a port for a moment and make a publish fail, and away from every fixed port a scenario uses.
FREE_PORT_POOL = range(30000, 32000)


def ephemeral_ports() -> range:
    """The kernel's range for the local ports of client sockets."""
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return range(int(low), int(high) + 1)


def port_is_free(port: int) -> bool:
    """Whether a listener could take this port on 127.0.0.1 now (as a published port would)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_ports(count: int) -> list[int]:
    """That many different TCP ports nothing holds now, at random from FREE_PORT_POOL (scenarios run side by side,
    so fixed spare ports could collide)."""
    ephemeral = ephemeral_ports()
    pool = [port for port in FREE_PORT_POOL if port not in ephemeral]
    assert len(pool) >= 100, f"the kernel's ephemeral ports {ephemeral} cover the tests' pool {FREE_PORT_POOL}"
    ports: list[int] = []
    for port in random.sample(pool, len(pool)):
        if port_is_free(port):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise AssertionError(f"fewer than {count} free ports in {FREE_PORT_POOL}")


def wait_for(what: str, probe, timeout: int = 90):
    """Polls probe() until it returns something truthy; returns that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"{what}: not within {timeout} s")


def pgadmin_session(url: str):
    """A function calling pgAdmin's API at url as its desktop-mode user, with the CSRF token the API wants.

    The function: call(path, data=None, method=None) -> the JSON answer (GET, or POST with data, or the method given).
    """
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    opener.open(f"{url}/browser/", timeout=30).read()  # the session cookie
    script = opener.open(f"{url}/browser/js/utils.js", timeout=30).read().decode()
    token = re.search(r"pgAdmin\['csrf_token'\] = '([^']+)'", script).group(1)

    def call(path: str, data: dict | None = None, method: str | None = None) -> dict:
        request = urllib.request.Request(
            f"{url}{path}",
            data=None if data is None else json.dumps(data).encode(),
            headers={"X-pgA-CSRFToken": token, "Content-Type": "application/json"},
            method=method or ("GET" if data is None else "POST"),
        )
        with opener.open(request, timeout=60) as answer:
            return json.load(answer)

    return call


def registered_server(call, name: str) -> tuple[str, str]:
    """(group id, server id) of the server pgAdmin lists under the given name in the group devenv."""
    groups = call("/browser/server_group/nodes/")["data"]
    [group] = [g for g in groups if g["label"] == "devenv"]
    listing = call(f"/browser/server/nodes/{group['_id']}")
    servers = listing["result"] or listing["data"]  # pgAdmin 9 answers this one in "result"
    [server] = [s for s in servers if s["label"] == name]
    return group["_id"], server["_id"]


def assert_pgadmin_connects(url: str, name: str, database: str) -> None:
    """pgAdmin connects the registered server (its password file, no prompt) and lists the database."""
    call = pgadmin_session(url)
    group_id, server_id = registered_server(call, name)
    answer = call(f"/browser/server/connect/{group_id}/{server_id}", {})
    assert answer["success"] == 1 and answer["data"]["connected"] is True, answer
    databases = call(f"/browser/database/nodes/{group_id}/{server_id}")["data"]
    assert database in [entry["label"] for entry in databases]


@pytest.fixture
def fresh_project(tmp_path):
    """Settings of a project that does not exist on this machine yet: a stand-in for a fresh machine.

    Yields the extra vars (project name, state directory, ports); everything left behind is purged afterwards.
    """
    project = f"fresh-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "state"
    # Free ports for every phase: another project's containers hold the defaults, and the port preflight says so.
    ports = ("postgres_port", "localstack_port", "sentry_port", "sentry_traces_port", "sentry_traces_grpc_port",
             "tools_pgadmin_port", "tools_swagger_port")
    extra = {"devenv_project": project, "devenv_home": str(home), **dict(zip(ports, free_ports(len(ports))))}
    yield {"project": project, "home": home, "extra_vars": extra}
    if any(labelled(project).values()) or home.exists():  # a bad-input test leaves nothing to purge
        run_playbook("playbooks/teardown.yml", "-e", json.dumps({**extra, "devenv_teardown": "purge"}), expect_rc=None)
    shutil.rmtree(home, ignore_errors=True)


def run_module(module: str, args: dict, *options: str, expect_failure: bool = False) -> dict:
    """Runs one module on localhost (`ansible localhost -m MODULE -a JSON`) and returns its result.

    ``options`` are extra ansible flags such as ``--check`` or ``--diff``.
    """
    env = ansible_env(
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )
    executable = Path(sys.executable).parent / "ansible"
    cmd = [str(executable), "localhost", "-c", "local", "-m", module, "-a", json.dumps(args), *options]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError) as error:
        raise AssertionError(f"no result from {' '.join(cmd)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}") from error
    failed = bool(result.get("failed"))
    assert failed == expect_failure, f"{module} {'did not fail' if expect_failure else 'failed'}: {result}"
    return result


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from Debian, driven through its own chromedriver (nothing is downloaded)."""
    profile = tempfile.mkdtemp(prefix="devenv-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
