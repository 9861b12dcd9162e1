"""The filter bestshot.devenv.labelled: which objects of a Docker listing belong to a project and a role."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.bestshot.devenv.plugins.filter.labelled import FilterModule, labelled

LISTING = [
    {"Names": ["/dev-postgres"], "Labels": {"dev.bestshot.devenv.project": "dev", "dev.bestshot.devenv.role": "postgres"}},
    {"Names": ["/dev-localstack"], "Labels": {"dev.bestshot.devenv.project": "dev",
                                              "dev.bestshot.devenv.role": "localstack"}},
    {"Names": ["/other-postgres"], "Labels": {"dev.bestshot.devenv.project": "other",
                                              "dev.bestshot.devenv.role": "postgres"}},
    {"Names": ["/unlabelled"], "Labels": None},
    {"Names": ["/no-labels-key"]},
]


def names(objects):
    return [item["Names"][0] for item in objects]


def test_keeps_the_objects_of_the_project_in_the_listings_order():
    assert names(labelled(LISTING, "dev")) == ["/dev-postgres", "/dev-localstack"]


def test_with_a_role_keeps_only_that_roles_objects_of_the_project():
    assert names(labelled(LISTING, "dev", "postgres")) == ["/dev-postgres"]
    assert labelled(LISTING, "dev", "sentry") == []


def test_objects_without_labels_and_an_empty_listing_belong_to_no_project():
    assert labelled([{"Labels": None}, {}], "dev") == []
    assert labelled([], "dev") == [] and labelled(None, "dev") == []


def test_anything_but_a_list_is_refused_with_a_clear_error():
    with pytest.raises(AnsibleFilterError, match="labelled expects a list of Docker objects, got dict"):
        labelled({"containers": []}, "dev")


def test_the_collection_exposes_it_as_labelled():
    assert FilterModule().filters()["labelled"] is labelled
