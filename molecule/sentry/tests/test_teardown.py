"""Runs after the other test files of the scenario (file order): the complete rollback of the phase. (The quick
rollback, teardown stop, is the contract's: test_contract.py stores an issue and spans and finds them back.)"""

from __future__ import annotations

from conftest import labelled, read_env_file
from contract import assert_purge_leaves_nothing, phase  # noqa: F401  (phase: the contract's fixture)
from test_contract import PHASE  # noqa: F401  (the phase's table)
from test_sentry import ENV_FILE, PROJECT


def test_purge_leaves_nothing_of_the_phase_nor_its_env_block(phase):
    assert_purge_leaves_nothing(phase)
    env = read_env_file(ENV_FILE)
    assert "SENTRY_DSN" not in env and not [key for key in env if key.startswith("OTEL_") or key == "TRACES_URL"]
    assert labelled(PROJECT) == {"container": [], "volume": [], "network": []}
