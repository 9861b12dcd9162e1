# -*- coding: utf-8 -*-
# Copyright: bestshot.devenv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File helpers shared by the collection's modules."""

from __future__ import annotations

import os
import tempfile


def write_atomically(path, content, mode):
    """Writes content (bytes) to path in one step: a temporary file beside it (created 0600, named .devenv-*, so that
    no reader takes it for a file of its own), given mode, then renamed over path."""
    descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".devenv-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
