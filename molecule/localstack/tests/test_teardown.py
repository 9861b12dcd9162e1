"""Runs after the other test files of the scenario (file order): complete rollback of the aws phase."""

from __future__ import annotations

from conftest import inspect, labelled, read_env_file, run_playbook, state_dir

CONTAINER = "bestshot-localstack"
VOLUME = "bestshot-localstack-data"


def test_purge_removes_container_volume_hooks_and_env_block():
    run_playbook("playbooks/teardown.yml", "--tags", "aws", "-e", "devenv_teardown=purge")
    assert inspect(CONTAINER) is None
    assert inspect(VOLUME) is None
    assert not (state_dir() / "localstack").exists()
    assert "AWS_ENDPOINT" not in read_env_file()
    assert labelled("bestshot") == {"container": [], "volume": [], "network": []}
