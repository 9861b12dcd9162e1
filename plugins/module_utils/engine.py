# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker Engine API, as the collection's modules ask it: HTTP over the engine's socket (or TCP), no library."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import time
from urllib.parse import quote, urlsplit


class EngineError(Exception):
    """An answer of the engine other than what was asked for (status, message)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class UnixConnection(http.client.HTTPConnection):
    """HTTP over the engine's unix socket."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


class Engine:
    """The Docker Engine API at DOCKER_HOST (unix:// or tcp://, TLS with DOCKER_TLS_VERIFY) or the default socket."""

    def __init__(self, environ, timeout=120):
        host = environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        self.timeout = timeout
        url = urlsplit(host)
        if url.scheme == "unix":
            self.connection = lambda: UnixConnection(url.path, self.timeout)
        elif url.scheme == "tcp":
            address, port = url.hostname, url.port or (2376 if environ.get("DOCKER_TLS_VERIFY") else 2375)
            if environ.get("DOCKER_TLS_VERIFY"):
                certs = environ.get("DOCKER_CERT_PATH") or os.path.join(environ.get("HOME", "/"), ".docker")
                context = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
                context.load_cert_chain(os.path.join(certs, "cert.pem"), os.path.join(certs, "key.pem"))
                self.connection = lambda: http.client.HTTPSConnection(address, port, timeout=self.timeout,
                                                                      context=context)
            else:
                self.connection = lambda: http.client.HTTPConnection(address, port, timeout=self.timeout)
        else:
            raise EngineError(0, f"DOCKER_HOST {host} is not supported here (unix:// or tcp:// only)")

    def request(self, method, path, body=None, timeout=None):
        """The status and the raw body of the answer (read to its end); raises EngineError when the engine cannot be
        asked or does not answer within `timeout` seconds (default: the engine's)."""
        connection = self.connection()
        if timeout is not None:
            connection.timeout = timeout
        try:
            payload = None if body is None else json.dumps(body).encode("utf-8")
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except OSError as error:
            raise EngineError(0, f"the Docker engine could not be asked ({error})") from error
        finally:
            connection.close()

    def call(self, method, path, body=None, expect=(200, 201, 204, 304), timeout=None):
        """The decoded JSON answer (None when empty); raises EngineError on any other status."""
        status, data = self.request(method, path, body, timeout)
        if status not in expect:
            try:
                message = json.loads(data).get("message", "")
            except ValueError:
                message = data.decode("utf-8", errors="replace")
            raise EngineError(status, message.strip())
        return json.loads(data) if data.strip() else None

    def exists(self, path):
        try:
            self.call("GET", path)
        except EngineError as error:
            if error.status == 404:
                return False
            raise
        return True

    def image_id(self, reference):
        """The ID of the local image the reference names now, or None when there is none."""
        try:
            return self.call("GET", f"/images/{quote(reference, safe='')}/json")["Id"]
        except EngineError as error:
            if error.status == 404:
                return None
            raise

    def inspect(self, name):
        """A container's details (as `docker inspect` shows them), or None when there is none of that name."""
        try:
            return self.call("GET", f"/containers/{quote(name)}/json")
        except EngineError as error:
            if error.status == 404:
                return None
            raise

    def run(self, container, argv, env=None, timeout=None):
        """Runs a command in a running container, as `docker exec` does (the environment in the request, not in a
        process list); returns (exit code, stdout, stderr). Raises EngineError when it cannot, or when the command
        takes longer than `timeout` seconds."""
        created = self.call("POST", f"/containers/{quote(container)}/exec", {
            "AttachStdout": True, "AttachStderr": True, "Cmd": list(argv),
            "Env": [f"{key}={value}" for key, value in sorted((env or {}).items())]})
        status, data = self.request("POST", f"/exec/{created['Id']}/start", {"Detach": False, "Tty": False}, timeout)
        if status != 200:
            raise EngineError(status, data.decode("utf-8", errors="replace").strip())
        code = (self.call("GET", f"/exec/{created['Id']}/json") or {}).get("ExitCode")
        return code, *split_stream(data)

    def wait_healthy(self, names, seconds, healthy=None):
        """Waits until each named container is running and healthy (or has no health check), asking twice a second,
        and calls healthy(name) once for each as soon as it is. Gives up as soon as one is not running (it will not
        become healthy) or after `seconds`. Returns name -> "state, health X" (health none without a check) as last
        seen, the containers not healthy being those whose value is not "running, health healthy"."""
        deadline = time.monotonic() + seconds
        seen = set()
        while True:
            report = {name: state_line(self.inspect(name)) for name in names}
            for name in sorted(name for name in names if report[name] == HEALTHY and name not in seen):
                seen.add(name)
                if healthy is not None:
                    healthy(name)
            waiting = [name for name in names if report[name] != HEALTHY]
            if not waiting or time.monotonic() >= deadline or any(
                    not report[name].startswith("running,") for name in waiting):
                return report
            time.sleep(0.5)


HEALTHY = "running, health healthy"


def start(engine, name, timeout=None):
    """Starts one existing container; returns an error line ("name: what the engine said") or None."""
    try:
        engine.call("POST", f"/containers/{quote(name)}/start", timeout=timeout)
    except EngineError as error:
        return f"{name}: {error}"
    return None


def state_line(details):
    """"state, health X" of a container's details (health none without a health check; "absent" when there is
    none): what a wait reports."""
    if details is None:
        return "absent, health none"
    state = details.get("State") or {}
    health = (state.get("Health") or {}).get("Status") or "none"
    status = state.get("Status", "unknown")
    # A running container without a health check counts as healthy.
    return HEALTHY if status == "running" and health == "none" else f"{status}, health {health}"


def split_stream(data):
    """(stdout, stderr) of an attached exec without a terminal: the Engine API sends them as frames, each a byte for
    the stream (1 out, 2 err), three zero bytes, the payload's size (4 bytes, big-endian) and the payload."""
    out, err = bytearray(), bytearray()
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset + 4:offset + 8], "big")
        (err if data[offset] == 2 else out).extend(data[offset + 8:offset + 8 + size])
        offset += 8 + size
    return out.decode("utf-8", errors="replace"), err.decode("utf-8", errors="replace")
