"""The tools phase as a developer meets it in the browser: Swagger UI renders the team's spec, pgAdmin opens with the
workstation's PostgreSQL registered and connectable without a password. test_teardown.py (run last) purges it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import yaml
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conftest import (
    REDRAWN,
    REPO,
    assert_pgadmin_connects,
    inspect,
    labelled,
    recap,
    pgadmin_session,
    registered_server,
    run_playbook,
    state_dir,
)

PROJECT = "tooling"  # devenv_project in molecule.yml: a project of its own, to run beside other scenarios
PGADMIN, SWAGGER = f"{PROJECT}-pgadmin", f"{PROJECT}-swagger-ui"
PGADMIN_URL, SWAGGER_URL = "http://127.0.0.1:5050", "http://127.0.0.1:8080"
SERVER_NAME = f"{PROJECT} PostgreSQL"
SPEC = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "openapi.yaml"
ORIGINAL_SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"


def rendered_operations(driver) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation Swagger UI shows on the page."""
    driver.get(SWAGGER_URL)
    WebDriverWait(driver, 60).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".opblock .opblock-summary-method"))
    )
    operations = set()
    for block in driver.find_elements(By.CSS_SELECTOR, ".opblock"):
        method = block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.strip()
        path = block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path")
        operations.add((method, path))
    return operations


def spec_operations(spec: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item}


def test_swagger_ui_renders_the_operations_of_the_spec(browser):
    expected = spec_operations(yaml.safe_load(ORIGINAL_SPEC.read_text()))
    assert rendered_operations(browser) == expected
    assert "Devenv test API" in browser.find_element(By.CSS_SELECTOR, ".info .title").text


def tree_node(driver, label: str, prefix: bool = False, timeout: int = 60):
    """A node of pgAdmin's object explorer, by its label."""
    test = f"starts-with(normalize-space(text()), '{label}')" if prefix else f"normalize-space(text())='{label}'"
    return WebDriverWait(driver, timeout, ignored_exceptions=REDRAWN).until(  # the tree redraws while it loads
        expected_conditions.element_to_be_clickable((By.XPATH, f"//span[contains(@class, 'file-name') and {test}]"))
    )


def open_node(driver, label: str, child: str, prefix: bool = False):
    """Double-clicks a tree node until its child shows: while pgAdmin is still loading, the tree can drop a click,
    and a node that is opening can take a while (a server connects first)."""
    deadline, wait = time.monotonic() + 120, 5
    while True:
        try:
            return tree_node(driver, child, prefix, timeout=wait)
        except TimeoutException:
            if time.monotonic() > deadline:
                raise
        try:
            ActionChains(driver).double_click(tree_node(driver, label)).perform()
        except REDRAWN:  # the tree redrew between finding the node and the click: the next round finds it again
            pass
        wait = 15


def test_pgadmin_opens_without_login_and_connects_the_registered_server(browser):
    browser.get(PGADMIN_URL)
    tree_node(browser, "devenv", timeout=90)
    assert "/login" not in browser.current_url
    open_node(browser, "devenv", SERVER_NAME)
    # Only a connected server has children: pgAdmin connected it without asking for a password.
    open_node(browser, SERVER_NAME, "Databases", prefix=True)


def test_pgadmin_registers_the_server_itself_on_its_first_start_from_the_mounted_definition():
    """The run does not start pgAdmin's application a second time to register the server: pgAdmin's own first start
    loads the definition the role writes on the machine (read-only in the container), while the other phases start."""
    logs = subprocess.run(["docker", "logs", PGADMIN], capture_output=True, text=True, check=True)
    assert "Added 1 Server Group(s) and 1 Server(s)." in logs.stdout + logs.stderr
    definition = json.loads((state_dir(PROJECT) / "pgadmin" / "servers.json").read_text())
    assert definition["Servers"]["1"]["Name"] == SERVER_NAME and "Password" not in definition["Servers"]["1"]
    [mount] = [m for m in inspect(PGADMIN)["Mounts"] if m["Destination"] == "/devenv"]
    assert mount["Source"] == str(state_dir(PROJECT) / "pgadmin") and mount["RW"] is False


def test_pgadmin_connects_the_server_without_a_password():
    assert_pgadmin_connects(PGADMIN_URL, SERVER_NAME, PROJECT)


def test_the_password_file_is_private_to_pgadmin():
    stat = subprocess.run(["docker", "exec", PGADMIN, "stat", "-c", "%a %u", "/var/lib/pgadmin/devenv.pgpass"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert stat == ["600", "5050"]


def pgadmin_script(**changes) -> dict:
    """The role's script run in pgAdmin in check mode (writes nothing), for the workstation's server; its result."""
    spec = {"check": True, "passfile": "/var/lib/pgadmin/devenv.pgpass", "password_line": "",
            "servers_file": "/devenv/servers.json", "server": SERVER_NAME, "group": "devenv",
            "database": "/var/lib/pgadmin/pgadmin4.db", "schema": 52, **changes}
    script = (REPO / "roles" / "tools" / "files" / "pgadmin-devenv.py").read_text()
    proc = subprocess.run(["docker", "exec", "-e", f"DEVENV_INPUT={json.dumps(spec)}", PGADMIN, "/venv/bin/python3",
                           "-c", script], capture_output=True, text=True, timeout=300, check=False)
    [line] = [line for line in proc.stdout.splitlines() if line.startswith("BESTSHOT-DEVENV-RESULT ")]
    return json.loads(line.split(" ", 1)[1])


def test_the_registered_server_is_read_from_pgadmin_918s_database_and_through_pgadmin_on_another_schema():
    direct = pgadmin_script()
    assert direct == {"changes": [], "notes": [], "error": None}
    # Another schema version: pgAdmin's own dump-servers answers, and the run says it took the slower way.
    other = pgadmin_script(schema=0)
    assert other["error"] is None and other["changes"] == [], other
    assert "dump-servers" in other["notes"][0]
    missing = pgadmin_script(schema=0, server="a server nobody registered")
    assert missing["changes"] == ["server 'a server nobody registered' registered in the group 'devenv'"], missing


def test_a_changed_spec_shows_after_a_re_run(browser):
    spec = yaml.safe_load(SPEC.read_text())
    spec["paths"]["/orders"] = {"post": {"summary": "Place an order", "responses": {"201": {"description": "ok"}}}}
    SPEC.write_text(yaml.safe_dump(spec))
    try:
        proc = run_playbook("site.yml", "--tags", "tools")
        assert recap(proc.output)["changed"] > 0
        assert ("POST", "/orders") in rendered_operations(browser)
    finally:
        shutil.copy(ORIGINAL_SPEC, SPEC)
        run_playbook("site.yml", "--tags", "tools")
    assert ("POST", "/orders") not in rendered_operations(browser)


def test_without_a_spec_swagger_ui_serves_a_placeholder_that_says_how_to_set_one(browser):
    """A default run (no tools_openapi_spec, no tools_openapi_url) answers on 8080 with the placeholder; giving a
    spec again replaces it."""
    try:
        proc = run_playbook("site.yml", "--tags", "tools", "-e", "tools_openapi_spec=")
        assert "Swagger UI: http://127.0.0.1:8080 (spec: placeholder" in " ".join(proc.output.split())
        status = run_playbook("playbooks/status.yml").output
        assert "spec: placeholder (set tools_openapi_spec" in status
        browser.get(SWAGGER_URL)
        title = WebDriverWait(browser, 60).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".info .title"))
        )
        assert f"{PROJECT} API - placeholder" in title.text
        description = browser.find_element(By.CSS_SELECTOR, ".info .description").text
        assert "tools_openapi_spec" in description and "site.yml --tags tools" in description
        assert browser.find_elements(By.CSS_SELECTOR, ".opblock") == []
    finally:
        run_playbook("site.yml", "--tags", "tools")
    assert rendered_operations(browser) == spec_operations(yaml.safe_load(ORIGINAL_SPEC.read_text()))
    assert f"spec: {SPEC}" in run_playbook("playbooks/status.yml").output


def test_turning_pgadmin_off_removes_only_its_container():
    run_playbook("site.yml", "--tags", "tools", "-e", "tools_pgadmin_enabled=false")
    assert inspect(PGADMIN) is None
    assert inspect(f"{PROJECT}-pgadmin-data") is not None  # its settings are kept
    assert inspect(SWAGGER)["State"]["Running"] is True
    assert inspect(f"{PROJECT}-postgres")["State"]["Running"] is True
    run_playbook("site.yml", "--tags", "tools")
    assert inspect(PGADMIN)["State"]["Health"]["Status"] == "healthy"
    call = pgadmin_session(PGADMIN_URL)
    registered_server(call, SERVER_NAME)  # still registered once, from the kept settings


def test_turning_swagger_ui_off_removes_only_its_container():
    run_playbook("site.yml", "--tags", "tools", "-e", "tools_swagger_enabled=false")
    assert inspect(SWAGGER) is None
    assert inspect(PGADMIN)["State"]["Running"] is True
    run_playbook("site.yml", "--tags", "tools")
    assert inspect(SWAGGER)["State"]["Health"]["Status"] == "healthy"


def test_tools_alone_without_postgres_start_and_say_so(fresh_project):
    extra = {**fresh_project["extra_vars"], "tools_pgadmin_port": 15050, "tools_swagger_port": 18080}
    proc = run_playbook("site.yml", "--tags", "tools", "-v", "--diff", "-e", json.dumps(extra))
    project = fresh_project["project"]
    assert sorted(labelled(project)["container"]) == [f"{project}-pgadmin", f"{project}-swagger-ui"]
    assert f"PostgreSQL (container {project}-postgres) is not set up" in proc.output
    with urllib.request.urlopen("http://127.0.0.1:15050/misc/ping", timeout=10) as answer:
        assert answer.read().decode().strip('"') == "PING"
    secret = (fresh_project["home"] / "secrets" / "tools-pgadmin-password").read_text().strip()
    assert secret not in proc.output


def test_no_password_appears_in_the_output():
    outputs = [run_playbook("site.yml", "--tags", "base,tools", "-v", "--diff").output,
               run_playbook("site.yml", "--tags", "base,tools", "-v", "--check", "--diff").output]
    secrets = [(state_dir(PROJECT) / "secrets" / name).read_text().strip()
               for name in ("tools-pgadmin-password", "postgres-superuser-password", "postgres-app-password")]
    for output in outputs:
        for secret in secrets:
            assert secret not in output
