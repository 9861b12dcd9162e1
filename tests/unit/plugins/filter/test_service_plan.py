"""The filter bestshot.devenv.service_plan: what a phase must make, start or remove, from one listing of the engine."""

import copy

import pytest
from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import get_hash, to_json

from ansible_collections.bestshot.devenv.plugins.filter.service_plan import FilterModule, service_plan

DB = {"name": "dev-db", "image": "postgres:17", "title": "PostgreSQL", "alias": "db", "timeout": 60,
      "published_ports": ["127.0.0.1:5432:5432"], "env": {"POSTGRES_USER": "app"},
      "secret_env": {"POSTGRES_PASSWORD": "db_password"}, "healthcheck": {"test": ["CMD", "pg_isready"]},
      "url": "postgresql://127.0.0.1:5432", "no_log": True, "status_command": ["psql", "-l"]}
UI = {"name": "dev-ui", "image": "registry.local:5000/ui", "title": "UI", "alias": "ui", "timeout": "90",
      "healthcheck": {"test": ["CMD", "true"]}}
SECRETS = {"db_password": "s3cret"}
ARGS = {"project": "dev", "role": "postgres", "phase": "base", "network": "dev", "volumes": ["dev-db-data"],
        "secrets": SECRETS}
IMAGES = [{"Id": "sha256:pg", "RepoTags": ["postgres:17"]},
          {"Id": "sha256:ui", "RepoTags": ["registry.local:5000/ui:latest"]},
          {"Id": "sha256:dangling", "RepoTags": None}]
IMAGE_IDS = {"dev-db": "sha256:pg", "dev-ui": "sha256:ui"}


def plan(services, found, **args):
    return service_plan(services, found, **{**ARGS, **args})


def empty():
    return {"containers": [], "volumes": [], "networks": [], "images": copy.deepcopy(IMAGES)}


def container(service, state="running", status="Up 2 minutes (healthy)", network_id="net1", **labels):
    """A container as docker_host_info lists it, made as the plan asked (from the image its tag names)."""
    made = plan([service], empty())["make"]["containers"][0]
    return {"Names": ["/" + service["name"]], "State": state, "Status": status, "ImageID": IMAGE_IDS[service["name"]],
            "Labels": {**made["labels"], **labels},
            "NetworkSettings": {"Networks": {"dev": {"NetworkID": network_id}}}}


def up(*containers):
    found = empty()
    found.update(containers=list(containers), volumes=[{"Name": "dev-db-data"}],
                 networks=[{"Name": "dev", "Id": "net1"}])
    return found


def test_on_a_fresh_engine_everything_is_made():
    result = plan([DB, UI], empty())
    assert result["network"] is True and result["volumes"] == ["dev-db-data"]
    assert result["outdated"] == ["dev-db", "dev-ui"] and result["start"] == [] and result["remove"] == []
    make = result["make"]
    assert make["volumes"] == [{"name": "dev-db-data", "labels": {"dev.bestshot.devenv.role": "postgres"}}]
    assert [item["name"] for item in make["containers"]] == ["dev-db", "dev-ui"]
    assert make["no_log"] is True


def test_a_container_gets_its_options_its_secrets_and_the_labels_status_and_teardown_read():
    made = plan([DB], empty())["make"]["containers"][0]
    assert made["env"] == {"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "s3cret"}
    assert set(made) == {"name", "image", "alias", "published_ports", "healthcheck", "env", "labels"}
    labels = made["labels"]
    assert labels["dev.bestshot.devenv.project"] == "dev" and labels["dev.bestshot.devenv.role"] == "postgres"
    assert labels["dev.bestshot.devenv.phase"] == "base" and labels["dev.bestshot.devenv.service"] == "PostgreSQL"
    assert labels["dev.bestshot.devenv.url"] == "postgresql://127.0.0.1:5432"
    assert labels["dev.bestshot.devenv.credentials"] == ""
    assert labels["dev.bestshot.devenv.status-command"] == '["psql", "-l"]'
    assert "s3cret" not in str(labels)


def test_the_spec_digest_is_the_one_earlier_releases_labelled_with_so_an_upgrade_recreates_nothing():
    # Earlier releases worked it out in Jinja: the options | combine({'env':..., 'network':...}) | to_json(sort_keys)
    # | hash('sha1').
    spec = {key: DB[key] for key in ("name", "image", "published_ports", "alias", "healthcheck")}
    spec.update(env={"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "s3cret"}, network="dev")
    expected = get_hash(to_json(spec, sort_keys=True), "sha1")
    assert plan([DB], empty())["make"]["containers"][0]["labels"]["dev.bestshot.devenv.spec"] == expected


def test_a_stack_that_is_up_as_declared_needs_nothing():
    result = plan([DB, UI], up(container(DB), container(UI)))
    assert result["network"] is False and result["volumes"] == []
    assert result["outdated"] == [] and result["start"] == [] and result["remove"] == []
    assert result["healthy"] == ["dev-db", "dev-ui"]
    assert result["make"] == {"network": False, "volumes": [], "containers": [], "start": [], "remove": [],
                              "no_log": False}


def test_a_changed_option_a_regenerated_secret_or_a_newer_image_recreates_the_container():
    found = up(container(DB), container(UI))
    assert plan([{**DB, "published_ports": ["127.0.0.1:6543:5432"]}, UI], found)["outdated"] == ["dev-db"]
    assert plan([DB, UI], found, secrets={"db_password": "new"})["outdated"] == ["dev-db"]
    found["images"][0]["Id"] = "sha256:pg-rebuilt"
    assert plan([DB, UI], found)["outdated"] == ["dev-db"]


def test_options_that_only_status_or_the_wait_read_do_not_recreate_it():
    found = up(container(DB))
    assert plan([{**DB, "timeout": 300, "title": "Postgres", "url": "x"}], found)["outdated"] == []


def test_a_stopped_container_as_declared_is_started_but_one_detached_from_the_network_is_recreated():
    assert plan([DB], up(container(DB, state="exited", status="Exited (0)")))["start"] == ["dev-db"]
    detached = plan([DB], up(container(DB, state="exited", status="Exited (0)", network_id="old")))
    assert detached["start"] == [] and detached["outdated"] == ["dev-db"]


def test_a_service_switched_off_is_removed_when_it_exists_and_its_volume_is_kept():
    found = up(container(DB), container(UI))
    result = plan([DB, {**UI, "enabled": False}], found)
    assert result["enabled"] == ["dev-db"] and result["declared"] == ["dev-db", "dev-ui"]
    assert result["remove"] == ["dev-ui"] and result["make"]["remove"] == ["dev-ui"] and result["volumes"] == []
    assert plan([DB, {**UI, "enabled": "false"}], up(container(DB)))["remove"] == []


def test_only_the_roles_containers_of_the_project_count():
    other = container(DB, **{"dev.bestshot.devenv.project": "other"})
    assert plan([DB], up(other))["outdated"] == ["dev-db"]


def test_the_network_an_earlier_phase_makes_is_not_made_twice():
    assert plan([DB], empty(), network_made=True)["network"] is False


def test_timeout_is_the_longest_of_the_services_run():
    assert plan([DB, UI], empty())["timeout"] == 90
    assert plan([{**UI, "enabled": False}], empty())["timeout"] == 0


def test_no_log_only_when_a_container_made_carries_a_secret():
    assert plan([DB, UI], up(container(DB)))["make"]["no_log"] is False
    assert plan([DB, UI], empty())["make"]["no_log"] is True


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(AnsibleFilterError, match="expects the list of a phase's services, got dict"):
        service_plan({"name": "x"}, empty(), **ARGS)
    with pytest.raises(AnsibleFilterError, match="expects a Docker listing"):
        service_plan([DB], [], **ARGS)
    with pytest.raises(AnsibleFilterError, match="service 0 lacks image, title"):
        service_plan([{"name": "x"}], empty(), **ARGS)


def test_the_collection_exposes_it_as_service_plan():
    assert FilterModule().filters()["service_plan"] is service_plan
