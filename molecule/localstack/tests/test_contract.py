"""The phase contract (molecule/contract.py) for the aws phase: LocalStack."""

from __future__ import annotations

from conftest import state_dir
from contract import *  # noqa: F401,F403  (the contract's tests, its fixture and its parametrization)
from test_localstack import client, delete_bucket_with_every_version
from test_persistence import check_app_state, make_app_state


def store_what_the_app_keeps():
    """Objects, versions, queues and messages, topics, buses, rules and schedules (test_persistence.py's app state)."""
    names = make_app_state()
    return lambda: check_app_state(names)


def delete_the_bucket():
    delete_bucket_with_every_version(client("s3"), "bestshot-dev")

    def check():
        s3 = client("s3")
        assert s3.get_bucket_versioning(Bucket="bestshot-dev")["Status"] == "Enabled"
        assert s3.get_object(Bucket="bestshot-dev", Key="seed/hello.txt")["Body"].read() == b"hello from the seed\n"

    return check


PHASE = {
    "tags": "aws",
    "role": "localstack",
    "containers": ["bestshot-localstack"],
    "store": store_what_the_app_keeps,
    "breaks": [delete_the_bucket],
    "purged_paths": [state_dir() / "localstack"],
    "bad_input": [
        ("localstack_buckets", [{"name": "Bad_Bucket"}], "'Bad_Bucket' is not a valid S3 bucket name"),
        ("localstack_services", ["s3", "not-a-service"], "localstack_services"),
        (
            "localstack_schedules",
            [{"name": "x", "expression": "every 5 minutes", "target": {"arn": "a", "role_arn": "r"}}],
            "an expression rate(<n> minutes|hours|days)",
        ),
        ("localstack_image", "localstack/localstack:2026.03.0", "needs localstack_auth_token"),
        ("localstack_image", "localstack/localstack:latest", "needs localstack_auth_token"),
        ("localstack_port", "http", "localstack_port"),
        ("localstack_save_interval", 0, "localstack_save_interval must be a number of seconds from 1 to 3600"),
        ("localstack_schedule_catch_up", -5, "localstack_schedule_catch_up must be a number of seconds from 0 to 86400"),
        ("localstack_queues", [{"name": "bad name"}], "localstack_queues: queue 'bad name' needs a name"),
        ("localstack_queues", [{"name": "orders", "fifo": True}], "'.fifo' exactly when fifo is true"),
        ("localstack_queues", [{"name": "orders", "colour": "red"}], "localstack_queues"),
        ("localstack_queues", [{"name": "a", "attributes": {"speed": 1}}], "attributes only from"),
        ("localstack_fire_schedules", "sometimes", "localstack_fire_schedules"),
        ("localstack_persistence", "maybe", "localstack_persistence"),
    ],
}
