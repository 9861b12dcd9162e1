"""Runs after the other test files of the scenario (file order): quick, then complete rollback of the phase."""

from __future__ import annotations

import json
import urllib.request

from conftest import inspect, labelled, read_env_file, run_playbook, state_dir

CONTAINER = "bestshot-sentry"
VOLUME = "bestshot-sentry-data"


def issue_ids() -> list[str]:
    """Every issue of the tracker's projects (the tests before this file reported at least one)."""
    token = (state_dir() / "secrets" / "sentry-api-token").read_text().strip()

    def get(path):
        request = urllib.request.Request(f"http://127.0.0.1:9000/api/canonical/0/{path}",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)["results"]

    return sorted(issue["id"] for project in get("projects/") for issue in get(f"issues/?project={project['id']}"))


def test_stop_keeps_the_issues_and_a_re_run_brings_the_tracker_back():
    before = issue_ids()
    assert before
    run_playbook("playbooks/teardown.yml", "--tags", "monitoring")
    assert inspect(CONTAINER)["State"]["Running"] is False
    assert inspect(VOLUME) is not None
    run_playbook("site.yml", "--tags", "monitoring")
    assert inspect(CONTAINER)["State"]["Health"]["Status"] == "healthy"
    assert issue_ids() == before


def test_purge_removes_container_volume_secrets_and_env_block():
    run_playbook("playbooks/teardown.yml", "--tags", "monitoring", "-e", "devenv_teardown=purge")
    assert inspect(CONTAINER) is None
    assert inspect(VOLUME) is None
    assert not any((state_dir() / "secrets").glob("sentry-*"))
    assert "SENTRY_DSN" not in read_env_file()
    assert labelled("bestshot") == {"container": [], "volume": [], "network": []}
