# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker command line client, as the collection's modules run it."""

from __future__ import annotations

# The client talks to the engine of DOCKER_HOST (or the default socket), as the community.docker modules do.
DOCKER_ENV = {"DOCKER_CONTEXT": "default", "LANG": "C", "LC_ALL": "C"}


def docker(module, *args, timeout=None, env=None):
    """Runs the docker client (given `timeout` seconds, where coreutils' timeout is there, and `env` in its
    environment); returns (exit code, stdout, stderr)."""
    limit = module.get_bin_path("timeout") if timeout else None
    command = [limit, str(timeout), "docker", *args] if limit else ["docker", *args]
    return module.run_command(command, check_rc=False, environ_update={**DOCKER_ENV, **(env or {})})
