# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The labels the collection puts on the Docker objects it makes: status and teardown find a project, and a phase,
by them (the modules and the filters read them from here)."""

from __future__ import annotations

LABEL = "dev.bestshot.devenv."
PROJECT_LABEL = LABEL + "project"
ROLE_LABEL = LABEL + "role"
