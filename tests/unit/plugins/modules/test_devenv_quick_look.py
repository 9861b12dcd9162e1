"""devenv_quick_look on real files, a real HTTP server and the real Docker engine (a project without containers): what
a complete run recorded, and which changes a later quick look notices."""

from __future__ import annotations

import http.server
import os
import stat
import threading
import uuid

import pytest
from conftest import docker, never_started, run_module

from ansible_collections.bestshot.devenv.plugins.modules import devenv_quick_look as module


class Buckets(http.server.BaseHTTPRequestHandler):
    """Answers like S3's ListBuckets with the names in `names` (a class attribute the tests change)."""

    names: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = "".join(f"<Bucket><Name>{name}</Name></Bucket>" for name in self.names).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def buckets():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Buckets)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Buckets.names = ["uploads", "reports"]
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture
def stack(tmp_path, buckets):
    env_file = tmp_path / "devenv.env"
    env_file.write_text("PGPORT=5432\n")
    return {
        "path": str(tmp_path / "quick-look" / "base-aws.json"),  # its directory is made by the first record
        "key": "settings-1",
        "project": f"unit-{uuid.uuid4().hex[:8]}",  # no container has this label
        "files": [str(env_file)],
        "checks": [{"name": "the buckets", "url": buckets, "pattern": "<Name>([^<]+)</Name>",
                    "only": ["uploads", "reports"]}],
    }


def ask(capsys, stack, **changes):
    return run_module(capsys, module, path=stack["path"], key=changes.get("key", stack["key"]), project=stack["project"],
                      start=changes.get("start", False))


@pytest.fixture
def container(stack):
    """A container of the stack's project that was never started (and cannot start)."""
    name = f"{stack['project']}-c"
    image = never_started(name, "--label", f"dev.bestshot.devenv.project={stack['project']}")
    yield name
    docker("rm", "--force", name)
    docker("rmi", image)


def test_a_record_is_private_and_a_quick_look_at_the_same_stack_finds_it_settled(capsys, stack):
    recorded = run_module(capsys, module, record=True, **stack)
    assert recorded["changed"] is True and recorded["settled"] is True
    assert stat.S_IMODE(os.stat(stack["path"]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(stack["path"])).st_mode) == 0o700
    again = run_module(capsys, module, record=True, **stack)
    assert again["changed"] is False
    look = ask(capsys, stack)
    assert look["settled"] is True and look["differs"] == [] and look["containers"] == []
    assert look["host_info"]["ServerVersion"]


def test_no_record_another_key_or_an_edited_file_is_not_settled(capsys, stack):
    assert ask(capsys, stack)["differs"] == ["nothing was recorded"]
    run_module(capsys, module, record=True, **stack)
    assert ask(capsys, stack, key="settings-2")["differs"] == [
        "the settings, the selected phases or the collection changed"]
    with open(stack["files"][0], "a") as handle:
        handle.write("MY_OWN=1\n")
    assert ask(capsys, stack)["differs"] == [f"file {stack['files'][0]} changed"]


def test_a_declared_value_gone_is_noticed_and_one_the_app_added_is_not(capsys, stack):
    run_module(capsys, module, record=True, **stack)
    Buckets.names = ["uploads", "reports", "made-by-the-app"]
    assert ask(capsys, stack)["settled"] is True
    Buckets.names = ["uploads"]
    assert ask(capsys, stack)["differs"] == ["check the buckets answers differently"]


def test_a_check_that_finds_nothing_or_fails_never_counts_as_settled(capsys, stack):
    Buckets.names = []
    run_module(capsys, module, record=True, **stack)
    assert ask(capsys, stack)["differs"] == ["check the buckets answers differently"]
    stack["checks"] = [{"name": "a service", "url": "http://127.0.0.1:9/"}]  # nothing listens on the discard port
    run_module(capsys, module, record=True, **stack)
    assert ask(capsys, stack)["differs"] == ["check a service answers differently"]


def test_a_missing_container_cannot_be_recorded(capsys, stack):
    result = run_module(capsys, module, record=True, containers=["no-such-container"], **stack)
    assert result["failed"] is True and "no-such-container" in result["msg"]
    assert not os.path.exists(stack["path"])


def test_a_stopped_container_is_started_and_one_that_cannot_start_is_named(capsys, stack, container):
    recorded = run_module(capsys, module, record=True, containers=[container], **stack)
    assert [listed["Names"] for listed in recorded["containers"]] == [[f"/{container}"]]
    assert ask(capsys, stack)["differs"] == [f"container {container} is created"]  # asked only: nothing started
    look = ask(capsys, stack, start=True)
    assert look["changed"] is True and look["started"] == [container] and look["settled"] is False
    assert len(look["differs"]) == 1 and look["differs"][0].startswith(f"containers could not be started ({container}: ")
