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


def env_blocks(path, **blocks) -> dict:
    """Blocks of one file: name -> its lines, or None to remove it."""
    return {"blocks": [
        {"path": str(path), "marker": f"# {{mark}} {name} (managed by bestshot.devenv)",
         "block": lines or "", "state": "absent" if lines is None else "present"}
        for name, lines in blocks.items()]}


def test_blocks_are_written_in_one_step_beside_the_users_own_lines_and_a_second_call_changes_nothing(tmp_path, capsys):
    path = tmp_path / "devenv.env"
    path.write_text("MY_OWN=1")  # a line of the user's, without a final newline
    first = run_module(capsys, module, **env_blocks(path, postgres="PGPORT=5432\nPGUSER=app", traces="OTEL=1"))
    assert first["changed"] is True and first["changed_paths"] == [str(path)]
    assert path.read_text() == (
        "MY_OWN=1\n"
        "# BEGIN postgres (managed by bestshot.devenv)\nPGPORT=5432\nPGUSER=app\n# END postgres (managed by bestshot.devenv)\n"
        "# BEGIN traces (managed by bestshot.devenv)\nOTEL=1\n# END traces (managed by bestshot.devenv)\n")
    assert mode(path) == 0o600
    again = run_module(capsys, module, **env_blocks(path, postgres="PGPORT=5432\nPGUSER=app", traces="OTEL=1"))
    assert again["changed"] is False


def test_a_block_is_replaced_where_it_is_and_another_removed(tmp_path, capsys):
    path = tmp_path / "devenv.env"
    run_module(capsys, module, **env_blocks(path, postgres="PGPORT=5432", traces="OTEL=1", sentry="DSN=x"))
    result = run_module(capsys, module, diff=True, **env_blocks(path, postgres="PGPORT=5433", traces=None))
    assert result["changed"] is True and len(result["diff"]) == 1
    assert path.read_text() == (
        "# BEGIN postgres (managed by bestshot.devenv)\nPGPORT=5433\n# END postgres (managed by bestshot.devenv)\n"
        "# BEGIN sentry (managed by bestshot.devenv)\nDSN=x\n# END sentry (managed by bestshot.devenv)\n")


def test_removing_a_block_from_a_missing_file_changes_nothing_and_check_mode_writes_nothing(tmp_path, capsys):
    path = tmp_path / "devenv.env"
    assert run_module(capsys, module, **env_blocks(path, postgres=None))["changed"] is False
    assert not path.exists()
    result = run_module(capsys, module, check_mode=True, **env_blocks(path, postgres="PGPORT=5432"))
    assert result["changed"] is True and not path.exists()
