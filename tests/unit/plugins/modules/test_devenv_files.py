"""devenv_files on a real directory: one call brings directories, files and stale paths in line; check mode and diff."""

from __future__ import annotations

import os
import stat

from conftest import run_module

from ansible_collections.bestshot.devenv.plugins.modules import devenv_files as module


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def wanted(root) -> dict:
    return {
        "directories": [str(root), str(root / "ready.d")],
        "files": [
            {"path": str(root / "ready.d" / "hook.sh"), "content": "#!/bin/sh\necho ready\n", "mode": "0755"},
            {"path": str(root / "config.json"), "content": '{"buckets": []}'},
        ],
        "absent": [str(root / "old-hook.sh"), str(root / "old.d")],
    }


def test_one_call_creates_directories_and_files_with_their_modes_and_a_second_changes_nothing(tmp_path, capsys):
    root = tmp_path / "hooks"
    first = run_module(capsys, module, **wanted(root))
    assert first["changed"] is True and len(first["changed_paths"]) == 4
    assert (root / "ready.d" / "hook.sh").read_text() == "#!/bin/sh\necho ready\n"
    assert mode(root / "ready.d" / "hook.sh") == 0o755 and mode(root / "config.json") == 0o644
    assert mode(root) == 0o755 and mode(root / "ready.d") == 0o755
    again = run_module(capsys, module, **wanted(root))
    assert again["changed"] is False and again["changed_paths"] == []


def test_drift_is_repaired_and_stale_paths_removed(tmp_path, capsys):
    root = tmp_path / "hooks"
    run_module(capsys, module, **wanted(root))
    (root / "config.json").write_text("edited by hand")
    os.chmod(root / "ready.d" / "hook.sh", 0o600)
    (root / "old-hook.sh").write_text("stale")
    (root / "old.d").mkdir()
    (root / "old.d" / "inside").write_text("stale")
    result = run_module(capsys, module, diff=True, **wanted(root))
    assert sorted(result["changed_paths"]) == sorted(
        [str(root / "config.json"), str(root / "ready.d" / "hook.sh"), str(root / "old-hook.sh"), str(root / "old.d")])
    assert result["diff"] == [{"before_header": str(root / "config.json"), "after_header": str(root / "config.json"),
                               "before": "edited by hand", "after": '{"buckets": []}'}]
    assert (root / "config.json").read_text() == '{"buckets": []}' and mode(root / "ready.d" / "hook.sh") == 0o755
    assert not (root / "old-hook.sh").exists() and not (root / "old.d").exists()
    assert sorted(os.listdir(root)) == ["config.json", "ready.d"]  # no temporary file left behind


def test_check_mode_reports_the_changes_and_writes_nothing(tmp_path, capsys):
    root = tmp_path / "hooks"
    result = run_module(capsys, module, check_mode=True, **wanted(root))
    assert result["changed"] is True and len(result["changed_paths"]) == 4
    assert not root.exists()


def test_a_bad_mode_fails_naming_the_file(tmp_path, capsys):
    result = run_module(capsys, module, files=[{"path": str(tmp_path / "f"), "content": "x", "mode": "rw-r--r--"}])
    assert result["failed"] is True and str(tmp_path / "f") in result["msg"] and "octal" in result["msg"]
    assert not (tmp_path / "f").exists()


def test_a_file_from_a_source_on_the_machine_is_copied_when_it_differs(tmp_path, capsys):
    source, copy = tmp_path / "openapi.yaml", tmp_path / "served" / "openapi.yaml"
    source.write_bytes(b"openapi: 3.1.0\n")
    args = {"directories": [str(copy.parent)], "files": [{"path": str(copy), "src": str(source)}]}
    assert run_module(capsys, module, **args)["changed"] is True and copy.read_bytes() == b"openapi: 3.1.0\n"
    assert run_module(capsys, module, **args)["changed"] is False
    source.write_bytes(b"openapi: 3.1.1\n")
    assert run_module(capsys, module, **args)["changed_paths"] == [str(copy)] and copy.read_bytes() == source.read_bytes()
    missing = run_module(capsys, module, files=[{"path": str(copy), "src": str(tmp_path / "nope")}])
    assert missing["failed"] is True and "does not exist" in missing["msg"]
