"""Unit tests import the collection as ansible_collections.bestshot.devenv (the checkout linked by `make setup`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".ansible" / "collections"))
