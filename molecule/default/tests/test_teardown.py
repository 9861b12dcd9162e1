"""Complete rollback of the whole workstation (runs after test_full_stack.py): nothing of the project is left."""

from conftest import labelled, run_playbook, state_dir

PROJECT = "fullstack"


def test_purge_leaves_no_container_volume_network_env_file_or_secret_of_the_project():
    run_playbook("playbooks/teardown.yml", "-e", "devenv_teardown=purge")
    assert labelled(PROJECT) == {"container": [], "volume": [], "network": []}
    assert not state_dir(PROJECT).exists()  # env file, secrets and state directory: nothing is left
