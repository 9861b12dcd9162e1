"""The phase contract (molecule/contract.py) for the base phase: PostgreSQL."""

from __future__ import annotations

import uuid

import psycopg

from conftest import read_env_file, state_dir
from contract import *  # noqa: F401,F403  (the contract's tests, its fixture and its parametrization)

CONTAINER = "bestshot-postgres"


def connect(url: str | None = None):
    return psycopg.connect(url or read_env_file()["DATABASE_URL"], connect_timeout=10, autocommit=True)


def superuser_url() -> str:
    password = (state_dir() / "secrets" / "postgres-superuser-password").read_text().strip()
    return f"postgresql://postgres:{password}@127.0.0.1:5432/postgres"


def store_a_row():
    marker = f"contract-{uuid.uuid4().hex}"
    with connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS contract (body text NOT NULL)")
        conn.execute("INSERT INTO contract (body) VALUES (%s)", (marker,))

    def check():
        with connect() as conn:
            assert conn.execute("SELECT count(*) FROM contract WHERE body = %s", (marker,)).fetchone()[0] == 1

    return check


def drop_the_app_database():
    with connect(superuser_url()) as conn:
        conn.execute("DROP DATABASE bestshot WITH (FORCE)")

    def check():
        with connect() as conn:  # as the app's role, with the env file's URL
            assert conn.execute("SELECT current_database()").fetchone()[0] == "bestshot"
            names = {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
        assert {"pgcrypto", "citext"} <= names

    return check


PHASE = {
    "tags": "base",
    "role": "postgres",
    "containers": [CONTAINER],
    "store": store_a_row,
    "breaks": [drop_the_app_database],
    "purged_paths": [state_dir() / "secrets" / "postgres-app-password",
                     state_dir() / "secrets" / "postgres-superuser-password"],
    "bad_input": [
        ("postgres_port", "notaport", "postgres_port"),
        ("postgres_port", 70000, "postgres_port must be a port number from 1 to 65535"),
        ("postgres_app_database", "Bad-Name", "postgres_app_database must be a PostgreSQL identifier"),
        ("postgres_settings", {"max_connections": [1, 2]}, "postgres_settings must map"),
        ("devenv_bind_address", "localhost", "devenv_bind_address must be an IPv4 address"),
        ("devenv_project", "Bad Project", "devenv_project must be"),
    ],
}
