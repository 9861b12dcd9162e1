"""Runs after test_tools.py (file order): the complete rollback of the phase. (The quick rollback, teardown stop, is
the contract's, which also checks that the other phases keep running.)"""

from __future__ import annotations

from conftest import inspect
from contract import assert_purge_leaves_nothing, phase  # noqa: F401  (phase: the contract's fixture)
from test_contract import PHASE  # noqa: F401  (the phase's table)

PROJECT = "tooling"  # devenv_project in molecule.yml


def test_purge_leaves_nothing_of_the_phase_and_does_not_touch_postgres(phase):
    assert_purge_leaves_nothing(phase)
    assert inspect(f"{PROJECT}-postgres")["State"]["Running"] is True  # the base phase is not touched
