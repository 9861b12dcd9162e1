"""Runs after the other test files of the scenario (file order): complete rollback of the aws phase."""

from __future__ import annotations

from conftest import labelled, read_env_file
from contract import assert_purge_leaves_nothing, phase  # noqa: F401  (phase: the contract's fixture)
from test_contract import PHASE  # noqa: F401  (the phase's table)


def test_purge_leaves_nothing_of_the_phase_nor_its_env_block(phase):
    assert_purge_leaves_nothing(phase)
    assert "AWS_ENDPOINT" not in read_env_file()
    assert labelled("bestshot") == {"container": [], "volume": [], "network": []}
