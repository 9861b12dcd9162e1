"""Complete rollback of the whole workstation (runs after test_full_stack.py): nothing of the project is left."""

from conftest import labelled, run_playbook, state_dir

PROJECT = "fullstack"


def test_purge_leaves_no_container_volume_network_or_env_block_of_the_project():
    run_playbook("playbooks/teardown.yml", "-e", "devenv_teardown=purge")
    assert labelled(PROJECT) == {"container": [], "volume": [], "network": []}
    env_file = state_dir(PROJECT) / "devenv.env"
    assert not env_file.exists() or "managed by bestshot.devenv" not in env_file.read_text()
    assert not list((state_dir(PROJECT) / "secrets").glob("*"))
