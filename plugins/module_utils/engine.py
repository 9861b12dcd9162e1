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
from urllib.parse import urlsplit


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

    def call(self, method, path, body=None, expect=(200, 201, 204, 304)):
        """The decoded JSON answer (None when empty); raises EngineError on any other status."""
        connection = self.connection()
        try:
            payload = None if body is None else json.dumps(body).encode("utf-8")
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except OSError as error:
            raise EngineError(0, f"the Docker engine could not be asked ({error})") from error
        finally:
            connection.close()
        if response.status not in expect:
            try:
                message = json.loads(data).get("message", "")
            except ValueError:
                message = data.decode("utf-8", errors="replace")
            raise EngineError(response.status, message.strip())
        return json.loads(data) if data.strip() else None

    def exists(self, path):
        try:
            self.call("GET", path)
        except EngineError as error:
            if error.status == 404:
                return False
            raise
        return True
