"""Unit tests of when the persistence inside LocalStack saves (roles/localstack/files/devenv_state.py).

The module runs inside LocalStack; its save loop and shutdown imports nothing from LocalStack, so it is loaded here
by path and its `save` replaced by a slow stand-in that records the saves. What is saved and restored is tested
against the real LocalStack in molecule/localstack (test_persistence.py).
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from pathlib import Path

PATH = Path(__file__).resolve().parents[2] / "roles" / "localstack" / "files" / "devenv_state.py"
_spec = importlib.util.spec_from_file_location("devenv_state", PATH)
state = importlib.util.module_from_spec(_spec)
sys.modules["devenv_state"] = state
_spec.loader.exec_module(state)


class SlowSaves(state.Persistence):
    """The real loop and shutdown; each save takes a while and is recorded (reason, finished)."""

    def __init__(self, seconds: float):
        super().__init__(["s3"], save_interval=0.05)
        self.seconds = seconds
        self.saves: list[list] = []
        self.saving = threading.Event()

    def save(self, reason: str) -> bool:
        with self.save_lock:
            record = [reason, False]
            self.saves.append(record)
            self.saving.set()
            time.sleep(self.seconds)
            record[1] = True
            return True


def test_shutdown_waits_for_a_periodic_save_under_way(monkeypatch, tmp_path):
    """A periodic save took the only "changed" mark: the shutdown must not return (the process would end and cut the
    save off before it swaps in its snapshot) until that save has finished."""
    monkeypatch.setattr(state, "STATE", tmp_path)  # a snapshot exists
    persistence = SlowSaves(seconds=0.5)
    persistence.dirty.set()
    threading.Thread(target=persistence.run, daemon=True).start()
    assert persistence.saving.wait(5)

    persistence.stop()

    assert [reason for reason, _ in persistence.saves][0] == "periodic"
    assert all(finished for _, finished in persistence.saves), persistence.saves


def test_shutdown_saves_what_changed_during_a_periodic_save(monkeypatch, tmp_path):
    monkeypatch.setattr(state, "STATE", tmp_path)
    persistence = SlowSaves(seconds=0.3)
    persistence.dirty.set()
    threading.Thread(target=persistence.run, daemon=True).start()
    assert persistence.saving.wait(5)
    persistence.dirty.set()  # a request changed the state while the periodic save ran

    persistence.stop()

    assert [reason for reason, _ in persistence.saves] == ["periodic", "shutdown"]
    assert all(finished for _, finished in persistence.saves)


def test_no_periodic_save_starts_once_stopping(monkeypatch, tmp_path):
    monkeypatch.setattr(state, "STATE", tmp_path / "none")
    persistence = SlowSaves(seconds=0.01)
    persistence.stop()  # nothing saved yet (no snapshot on disk): the shutdown saves once
    persistence.dirty.set()
    persistence.run()  # returns at once: stopping
    assert [reason for reason, _ in persistence.saves] == ["shutdown"]
