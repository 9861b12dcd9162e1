"""The phase contract (molecule/contract.py) for the monitoring phase: the error tracker and the trace backend."""

from __future__ import annotations

from conftest import state_dir
from contract import *  # noqa: F401,F403  (the contract's tests, its fixture and its parametrization)
from test_sentry import PROJECT, SECRETS, admin_password_is_the_generated_one, api, tracker_shell
from test_sentry_traces import store_an_issue_and_spans


def revoke_the_api_token_and_change_the_admin_password():
    """What a user may do in Bugsink's admin: the role's API token gone, the admin's password changed by hand."""
    tracker_shell("from bsmain.models import AuthToken; from django.contrib.auth import get_user_model; "
                  "AuthToken.objects.all().delete(); admin = get_user_model().objects.get(username='dev@bestshot.test'); "
                  "admin.set_password('changed-by-hand'); admin.save()")

    def check():
        assert api("teams/")["results"]  # the role's token works again
        assert admin_password_is_the_generated_one()

    return check


PHASE = {
    "tags": "monitoring",
    "role": "sentry",
    "project": PROJECT,
    "containers": [f"{PROJECT}-sentry", f"{PROJECT}-traces"],
    "store": store_an_issue_and_spans,
    "breaks": [revoke_the_api_token_and_change_the_admin_password],
    "purged_paths": [state_dir(PROJECT) / "secrets" / name for name in (*SECRETS, "sentry-state")],
    "bad_input": [
        ("sentry_port", "http", "sentry_port"),
        ("sentry_base_url", "127.0.0.1:9000/", "sentry_base_url must be an http(s) URL"),
        ("sentry_projects", [{"name": "api", "team": "nobody"}], "a team from sentry_teams"),
        ("sentry_app_project", "unknown", "sentry_app_project must name one of sentry_projects"),
        ("sentry_webhooks", [{"name": "x", "kind": "teams", "url": "https://example.com"}], "sentry_webhooks"),
        ("sentry_webhooks", [{"name": "x", "url": "ftp://example.com"}], "an http(s) url"),
        ("sentry_smtp_security", "tls", "sentry_smtp_security"),
        ("sentry_settings", {"MAX_EVENTS_PER_HOUR": 20000}, "quote numbers"),
        ("sentry_traces_enabled", "maybe", "sentry_traces_enabled"),
        ("sentry_traces_port", 70000, "sentry_traces_port must be a port number from 1 to 65535"),
        ("sentry_traces_grpc_port", 39999, "sentry_traces_grpc_port publish the same port 39999",
         {"sentry_traces_port": 39999}),
        ("sentry_traces_base_url", "http://127.0.0.1:6006/", "sentry_traces_base_url must be an http(s) URL"),
        ("sentry_traces_project", "my shop", "sentry_traces_project must be 1-100 letters"),
        ("sentry_traces_settings", {"MAX_EVENTS_PER_HOUR": "1"}, "sentry_traces_settings must map Phoenix setting"),
    ],
}
