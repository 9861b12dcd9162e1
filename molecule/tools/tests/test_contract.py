"""The phase contract (molecule/contract.py) for the tools phase: pgAdmin and Swagger UI."""

from __future__ import annotations

from conftest import assert_pgadmin_connects, docker, pgadmin_session, registered_server, state_dir
from contract import *  # noqa: F401,F403  (the contract's tests, its fixture and its parametrization)

PROJECT = "tooling"  # devenv_project in molecule.yml
PGADMIN_URL, SERVER_NAME = "http://127.0.0.1:5050", f"{PROJECT} PostgreSQL"


def delete_the_registered_server_and_its_password_file():
    """What a user may do in pgAdmin: delete the workstation's server (and lose the password file it points at)."""
    call = pgadmin_session(PGADMIN_URL)
    group_id, server_id = registered_server(call, SERVER_NAME)
    assert call(f"/browser/server/obj/{group_id}/{server_id}", method="DELETE")["success"] == 1
    assert docker("exec", f"{PROJECT}-pgadmin", "rm", "/var/lib/pgadmin/devenv.pgpass").returncode == 0

    def check():
        assert_pgadmin_connects(PGADMIN_URL, SERVER_NAME, PROJECT)

    return check


PHASE = {
    "tags": "tools",
    "role": "tools",
    "project": PROJECT,
    "containers": [f"{PROJECT}-pgadmin", f"{PROJECT}-swagger-ui"],
    "breaks": [delete_the_registered_server_and_its_password_file],
    "purged_paths": [state_dir(PROJECT) / "secrets" / "tools-pgadmin-password", state_dir(PROJECT) / "swagger-ui",
                     state_dir(PROJECT) / "pgadmin"],
    "bad_input": [
        ("tools_openapi_spec", "/nonexistent/openapi.yaml", "'/nonexistent/openapi.yaml' does not exist"),
        ("tools_openapi_spec", "openapi.yaml", "tools_openapi_spec must be the absolute path"),
        ("tools_openapi_url", "localhost:3000/openapi.json", "tools_openapi_url must be an http(s) URL"),
        ("tools_pgadmin_port", 70000, "tools_pgadmin_port must be a port number"),
    ],
}
