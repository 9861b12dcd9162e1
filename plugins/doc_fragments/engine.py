# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The modules that talk to the Docker Engine API (plugins/module_utils/engine.py): where they find the engine."""

    DOCUMENTATION = r"""
attributes:
  platform:
    platforms: posix
notes:
  - Talks to the Docker Engine API of C(DOCKER_HOST) (C(unix://) or C(tcp://); with C(DOCKER_TLS_VERIFY) set, TLS
    with the certificates in C(DOCKER_CERT_PATH), else C(~/.docker)), or of the default socket
    C(/var/run/docker.sock), as the C(community.docker) modules do by default. It needs no Python library for Docker.
"""
