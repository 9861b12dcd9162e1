"""Runs after the other test files of the scenario (file order): quick, then complete rollback of the phase."""

from __future__ import annotations

import json
import re
import urllib.request

from conftest import inspect, labelled, read_env_file, recap, run_playbook, state_dir
from contract import assert_purge_leaves_nothing, phase  # noqa: F401  (phase: the contract's fixture)
from test_contract import PHASE  # noqa: F401  (the phase's table)
from test_sentry import CONTAINER, ENV_FILE, PROJECT, VOLUME

TRACES = f"{PROJECT}-traces"
TRACES_VOLUME = f"{PROJECT}-traces-data"


def issue_ids() -> list[str]:
    """Every issue of the tracker's projects (the tests before this file reported at least one)."""
    token = (state_dir(PROJECT) / "secrets" / "sentry-api-token").read_text().strip()

    def get(path):
        request = urllib.request.Request(f"http://127.0.0.1:9000/api/canonical/0/{path}",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)["results"]

    return sorted(issue["id"] for project in get("projects/") for issue in get(f"issues/?project={project['id']}"))


def span_ids() -> list[str]:
    """Every span of the trace backend's projects (test_sentry_traces.py sent some)."""
    def get(path):
        with urllib.request.urlopen(f"http://127.0.0.1:6006/v1/{path}", timeout=10) as answer:
            return json.load(answer)["data"]

    return sorted(span["id"] for project in get("projects") for span in get(f"projects/{project['name']}/spans"))


def test_stop_keeps_the_issues_and_spans_and_a_re_run_brings_both_back():
    before, spans_before = issue_ids(), span_ids()
    assert before and spans_before
    proc = run_playbook("playbooks/teardown.yml", "--tags", "monitoring")
    assert inspect(CONTAINER)["State"]["Running"] is False
    assert inspect(TRACES)["State"]["Running"] is False
    assert inspect(VOLUME) is not None and inspect(TRACES_VOLUME) is not None
    status = run_playbook("playbooks/status.yml").output
    assert re.search(r"monitoring +Bugsink +exited +- +-\n", status) and re.search(r"monitoring +Traces +exited", status)
    run_playbook("site.yml", "--tags", "monitoring")
    assert inspect(CONTAINER)["State"]["Health"]["Status"] == "healthy"
    assert inspect(TRACES)["State"]["Health"]["Status"] == "healthy"
    assert issue_ids() == before
    assert span_ids() == spans_before
    assert recap(proc.output)["changed"] == 1  # one task stopped both


def test_purge_leaves_nothing_of_the_phase_nor_its_env_block(phase):
    assert_purge_leaves_nothing(phase)
    env = read_env_file(ENV_FILE)
    assert "SENTRY_DSN" not in env and not [key for key in env if key.startswith("OTEL_") or key == "TRACES_URL"]
    assert labelled(PROJECT) == {"container": [], "volume": [], "network": []}
