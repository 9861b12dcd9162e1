"""The phase contract (molecule/contract.py) for the tools phase: pgAdmin and Swagger UI."""

from __future__ import annotations

from conftest import state_dir
from contract import *  # noqa: F401,F403  (the contract's tests, its fixture and its parametrization)

PROJECT = "tooling"  # devenv_project in molecule.yml

PHASE = {
    "tags": "tools",
    "role": "tools",
    "project": PROJECT,
    "containers": [f"{PROJECT}-pgadmin", f"{PROJECT}-swagger-ui"],
    "purged_paths": [state_dir(PROJECT) / "secrets" / "tools-pgadmin-password", state_dir(PROJECT) / "swagger-ui"],
    "bad_input": [
        ("tools_openapi_spec", "/nonexistent/openapi.yaml", "'/nonexistent/openapi.yaml' does not exist"),
        ("tools_openapi_spec", "openapi.yaml", "tools_openapi_spec must be the absolute path"),
        ("tools_openapi_url", "localhost:3000/openapi.json", "tools_openapi_url must be an http(s) URL"),
        ("tools_pgadmin_port", 70000, "tools_pgadmin_port must be a port number"),
    ],
}
