"""devenv_secrets on a real directory: secrets generated once, stored private, read back; check mode writes nothing."""

from __future__ import annotations

import os
import stat

import pytest
from conftest import run_module

from ansible_collections.bestshot.devenv.plugins.modules import devenv_secrets as module


def run(capsys, check_mode: bool = False, **args) -> dict:
    return run_module(capsys, module, check_mode, **args)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_missing_secrets_are_generated_stored_private_and_read_back(tmp_path, capsys):
    home, secrets = tmp_path / "state", tmp_path / "state" / "secrets"
    request = [{"name": "db-password"}, {"name": "token", "length": 40, "chars": ["digits", "abcdef"]}]
    first = run(capsys, path=str(secrets), directories=[str(home)], files=request)
    assert first["changed"] is True and sorted(first["created"]) == ["db-password", "token"]
    assert len(first["secrets"]["db-password"]) == 32 and first["secrets"]["db-password"].isalnum()
    assert len(first["secrets"]["token"]) == 40 and set(first["secrets"]["token"]) <= set("0123456789abcdef")
    assert mode(home) == 0o700 and mode(secrets) == 0o700
    assert mode(secrets / "db-password") == 0o600
    assert (secrets / "token").read_text() == first["secrets"]["token"]

    again = run(capsys, path=str(secrets), directories=[str(home)], files=request)
    assert again["changed"] is False and again["created"] == []
    assert again["secrets"] == first["secrets"]


def test_two_runs_generate_different_secrets(tmp_path, capsys):
    one = run(capsys, path=str(tmp_path / "a"), files=[{"name": "s"}])["secrets"]["s"]
    two = run(capsys, path=str(tmp_path / "b"), files=[{"name": "s"}])["secrets"]["s"]
    assert one != two


def test_a_stored_secret_is_kept_as_it_is_and_made_private(tmp_path, capsys):
    (tmp_path / "mine").write_text("my own password\n")
    os.chmod(tmp_path / "mine", 0o644)
    result = run(capsys, path=str(tmp_path), files=[{"name": "mine"}])
    assert result["secrets"] == {"mine": "my own password"} and result["changed"] is True
    assert mode(tmp_path / "mine") == 0o600


def test_check_mode_reports_the_creation_and_writes_nothing(tmp_path, capsys):
    secrets = tmp_path / "secrets"
    result = run(capsys, check_mode=True, path=str(secrets), files=[{"name": "s"}])
    assert result["changed"] is True and result["created"] == ["s"] and len(result["secrets"]["s"]) == 32
    assert not secrets.exists()


@pytest.mark.parametrize(("secret", "message"), [
    ({"name": "../escape"}, "must be letters, digits"),
    ({"name": "s", "length": 0}, "length must be positive"),
    ({"name": "s", "chars": [""]}, "chars must not be empty"),
])
def test_bad_requests_fail_before_anything_is_written(tmp_path, capsys, secret, message):
    result = run(capsys, path=str(tmp_path / "secrets"), files=[secret])
    assert result["failed"] is True and message in result["msg"]
    assert not (tmp_path / "secrets").exists()


def test_stored_returns_the_other_secrets_of_the_directory_too_made_private(tmp_path, capsys):
    run(capsys, path=str(tmp_path), files=[{"name": "base"}, {"name": "monitoring"}])
    os.chmod(tmp_path / "monitoring", 0o644)
    (tmp_path / ".tmp-1").write_text("not a secret")  # not a valid name: left out
    result = run(capsys, path=str(tmp_path), files=[{"name": "base"}, {"name": "tools"}], stored=True)
    assert sorted(result["secrets"]) == ["base", "monitoring", "tools"] and result["created"] == ["tools"]
    assert mode(tmp_path / "monitoring") == 0o600
    assert sorted(run(capsys, path=str(tmp_path), files=[{"name": "base"}])["secrets"]) == ["base"]
