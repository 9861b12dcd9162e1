"""LocalStack state that survives restarts: bestshot.devenv's persistence for the community edition.

LocalStack's community edition keeps every store in memory and forgets it when the process ends (`PERSISTENCE=1` is
a paid feature). This module runs INSIDE LocalStack's process (the role's ready.d hook calls ``start()``, its
shutdown.d hook ``save_at_shutdown()``) and uses the state machinery the community core ships but never drives:

- each service provider hands its state containers to a visitor (``accept_state_visitor``): LocalStack stores
  (``AccountRegionBundle``) and moto backends (``BackendDict``); ``localstack.state.pickle`` serialises them;
- S3 keeps object bytes outside its stores (``EphemeralS3ObjectStore``, anonymous temporary files), so every object
  version's bytes are saved as a file of their own and written back through the storage backend on restore;
- EventBridge keeps its rule and target-sender objects in the provider, built from the stores: they are rebuilt.

Snapshot layout in the state volume (``/var/lib/localstack/bestshot-devenv``)::

    state/manifest.json      format, LocalStack version, services, when
    state/<service>.pickle   the service's state containers
    state/s3-objects/<id>    one object version's bytes (unchanged ones hard-linked from the previous snapshot)

A save writes a new directory beside ``state`` and swaps it in with renames, so a crash during a save never damages
the previous snapshot. Saves run every ``save_interval`` seconds, only after a request that can change state (a
successful operation other than Get*/List*/Describe*/Head* and SQS ReceiveMessage), and once more at shutdown. A
snapshot of another LocalStack version or one that cannot be read is set aside (renamed ``state.set-aside-<time>``,
listed in ``set-aside.json``) and LocalStack starts empty; the role's configuration hook then recreates what
Ansible manages.

The internals used here belong to LocalStack 4.14.0 (frozen: the last release that starts without an account). On any
other version the module logs one line and does nothing. Nothing here may take LocalStack down: every entry point
catches and logs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import traceback
from pathlib import Path

SUPPORTED_VERSION = "4.14.0"
FORMAT = 1
ROOT = Path(os.environ.get("DEVENV_STATE_DIR", "/var/lib/localstack/bestshot-devenv"))
CONFIG = Path(os.environ.get("DEVENV_STATE_CONFIG", "/etc/bestshot-devenv/config.json"))
STATE = ROOT / "state"
PREVIOUS = ROOT / "state.previous"
SET_ASIDE = ROOT / "set-aside.json"
# Services whose state this module knows how to save and restore.
SERVICES = ("s3", "sqs", "sns", "events", "scheduler")
READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Head")
READ_ONLY_OPERATIONS = {"ReceiveMessage"}  # received messages come back visible after a restart, as in SQS


def log(message: str) -> None:
    print(f"bestshot-devenv state: {message}", flush=True)


def _register_lock_reducers() -> None:
    """Locks are pickled as new, unlocked locks. dill keeps a lock's held state, and a lock that some request thread
    held during a save would come back held by nobody who will ever release it, freezing every later request."""
    from localstack.state import pickle

    for kind, factory in ((type(threading.Lock()), threading.Lock), (type(threading.RLock()), threading.RLock)):
        pickle.add_dispatch_entry(kind, lambda pickler, obj, factory=factory: pickler.save_reduce(factory, (), obj=obj))


class Persistence:
    """Saves and restores the state of the enabled services of this LocalStack process."""

    def __init__(self, services: list[str], save_interval: float):
        self.services = [name for name in services if name in SERVICES]
        self.save_interval = save_interval
        self.dirty = threading.Event()
        self.stopping = threading.Event()
        # Held by a save, and by the save loop and stop() while they decide whether to save (re-entered by save()).
        self.save_lock = threading.RLock()

    # -- live state ------------------------------------------------------------------------------------------------

    @staticmethod
    def _service(name: str):
        from localstack.services.plugins import SERVICE_PLUGINS

        return SERVICE_PLUGINS.require(name)  # loads and starts the provider when it was not yet

    @staticmethod
    def _containers(service) -> list:
        """The service's state containers that are pickled (S3's asset directory is handled as object files)."""
        from localstack.state import AssetDirectory, StateVisitor

        found = []

        class Collect(StateVisitor):
            def visit(self, state_container):
                if not isinstance(state_container, AssetDirectory):
                    found.append(state_container)

        service.accept_state_visitor(Collect())
        return found

    @staticmethod
    def _lifecycle(service, hook: str) -> None:
        method = getattr(service.lifecycle_hook, hook, None)
        if method:
            method()

    # -- saving ----------------------------------------------------------------------------------------------------

    def save(self, reason: str) -> bool:
        """Writes a complete new snapshot beside the current one, then swaps it in. Returns whether it succeeded."""
        from localstack.state import pickle

        with self.save_lock:
            started = time.monotonic()
            work = ROOT / f"state.new-{os.getpid()}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            try:
                manifest = {"format": FORMAT, "localstack": SUPPORTED_VERSION, "saved_at": time.time(),
                            "services": []}
                for name in self.services:
                    service = self._service_if_loaded(name)
                    if service is None:
                        continue
                    self._lifecycle(service, "on_before_state_save")
                    data = self._dump_with_retries(pickle, self._containers(service))
                    self._write(work / f"{name}.pickle", data)
                    if name == "s3":
                        manifest["s3_objects"] = self._save_s3_objects(service, work / "s3-objects")
                    self._lifecycle(service, "on_after_state_save")
                    manifest["services"].append(name)
                self._carry_over(manifest, work)
                self._write(work / "manifest.json", json.dumps(manifest).encode())
                self._fsync_dir(work)
                self._swap_in(work)
            except Exception:
                shutil.rmtree(work, ignore_errors=True)
                log(f"saving the state failed ({reason}); the previous snapshot is kept:\n{traceback.format_exc()}")
                return False
            took = time.monotonic() - started
            last_save = {"reason": reason, "seconds": round(took, 3), "at": manifest["saved_at"],
                         "services": manifest["services"], "s3_objects": manifest.get("s3_objects", 0)}
            self._write(ROOT / "last-save.json", json.dumps(last_save).encode())
            return True

    @staticmethod
    def _service_if_loaded(name: str):
        from localstack.services.plugins import SERVICE_PLUGINS

        # Providers load on first use. One that is not running has no state: restore() starts every service the
        # snapshot has, so this only skips services that never held anything.
        return SERVICE_PLUGINS.get_service(name) if name in SERVICE_PLUGINS.list_active_services() else None

    @staticmethod
    def _carry_over(manifest: dict, work: Path) -> None:
        """Keeps the last snapshot's state of services that are not enabled now (SERVICES changed): a changed
        setting must not lose what the app stored. They come back once the service is enabled again."""
        try:
            previous = json.loads((STATE / "manifest.json").read_text())
        except (OSError, ValueError):
            return
        for name in previous.get("services", []):
            if name in manifest["services"] or not (STATE / f"{name}.pickle").exists():
                continue
            os.link(STATE / f"{name}.pickle", work / f"{name}.pickle")
            if name == "s3":
                (work / "s3-objects").mkdir()
                for item in (STATE / "s3-objects").iterdir():
                    os.link(item, work / "s3-objects" / item.name)
                manifest["s3_objects"] = previous.get("s3_objects", 0)
            manifest["services"].append(name)

    @staticmethod
    def _dump_with_retries(pickle, containers) -> bytes:
        # Requests keep running while a save pickles the stores; a dict that changes size under the pickler raises
        # RuntimeError, and the next attempt sees a settled state.
        for attempt in range(4):
            try:
                return pickle.dumps(containers)
            except RuntimeError:
                time.sleep(0.05 * (attempt + 1))
        return pickle.dumps(containers)  # the fifth attempt raises

    def _save_s3_objects(self, service, folder: Path) -> int:
        """Writes every object version's bytes to ``folder``; unchanged ones are hard links into the last snapshot."""
        folder.mkdir()
        storage = service._provider._storage_backend
        count = 0
        for bucket, s3_object in self._s3_object_versions():
            if storage._key_from_s3_object(s3_object) not in storage._filesystem.get(bucket, {}).get("keys", {}):
                continue  # no bytes stored (should not happen)
            name = self._object_file_name(bucket, s3_object)
            target = folder / name
            previous = STATE / "s3-objects" / name
            if previous.exists():
                os.link(previous, target)
            else:
                with storage.open(bucket, s3_object, mode="r") as stored, open(target, "wb") as out:
                    while chunk := stored.read(1024 * 1024):
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            count += 1
        return count

    @staticmethod
    def _s3_object_versions():
        """(bucket name, object) for every stored version of every object in S3's stores (delete markers hold no
        bytes and are left out)."""
        from localstack.services.s3.models import S3DeleteMarker, s3_stores

        # Buckets are a cross-region attribute: every region's store of one account shows the same dict.
        seen = set()
        for _account, _region, store in s3_stores.iter_stores():
            for bucket in list(store.buckets.values()):
                if id(bucket) in seen:
                    continue
                seen.add(id(bucket))
                for s3_object in bucket.objects.values(with_versions=True):
                    if not isinstance(s3_object, S3DeleteMarker):
                        yield bucket.name, s3_object

    @staticmethod
    def _object_file_name(bucket: str, s3_object) -> str:
        identity = "\0".join([bucket, s3_object.key, str(s3_object.version_id), str(s3_object.etag),
                              str(s3_object.internal_last_modified)])
        return hashlib.sha256(identity.encode()).hexdigest()

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        with open(path, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())

    @staticmethod
    def _fsync_dir(path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @classmethod
    def _swap_in(cls, work: Path) -> None:
        # state -> state.previous, new -> state, then drop state.previous. A crash between the renames leaves
        # state.previous, which restore() then uses.
        shutil.rmtree(PREVIOUS, ignore_errors=True)
        if STATE.exists():
            STATE.rename(PREVIOUS)
        work.rename(STATE)
        cls._fsync_dir(ROOT)
        shutil.rmtree(PREVIOUS, ignore_errors=True)

    # -- restoring -------------------------------------------------------------------------------------------------

    def restore(self) -> None:
        """Brings the last snapshot back into the stores; a snapshot that cannot be used is set aside."""
        from localstack.state import pickle

        snapshot = STATE if STATE.exists() else PREVIOUS if PREVIOUS.exists() else None
        if snapshot is None:
            log("no saved state yet: starting empty")
            return
        started = time.monotonic()
        try:
            manifest = json.loads((snapshot / "manifest.json").read_text())
            if manifest.get("format") != FORMAT or manifest.get("localstack") != SUPPORTED_VERSION:
                raise ValueError(f"saved by LocalStack {manifest.get('localstack')} (format {manifest.get('format')}),"
                                 f" this is {SUPPORTED_VERSION} (format {FORMAT})")
            # Read everything before touching a store: a snapshot that fails half-way changes nothing.
            loaded = {name: pickle.loads((snapshot / f"{name}.pickle").read_bytes())
                      for name in manifest["services"] if name in self.services}
        except Exception as error:  # a corrupt or foreign snapshot
            self._set_aside(snapshot, f"{type(error).__name__}: {error}")
            return
        for name, containers in loaded.items():
            service = self._service(name)
            live = self._containers(service)
            if len(live) != len(containers):
                log(f"{name}: the snapshot has {len(containers)} state containers, the provider {len(live)}; skipped")
                continue
            self._lifecycle(service, "on_before_state_load")
            for live_container, saved in zip(live, containers):
                self._transplant(live_container, saved)
            if name == "s3":
                self._restore_s3_objects(service, snapshot / "s3-objects")
            if name == "events":
                self._rebuild_events(service)
            self._lifecycle(service, "on_after_state_load")
        skipped = [name for name in manifest["services"] if name not in loaded]
        log(f"restored {', '.join(loaded) or 'nothing'} from the snapshot of "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(manifest['saved_at']))} UTC"
            f" in {time.monotonic() - started:.2f} s"
            + (f" ({manifest.get('s3_objects', 0)} S3 object versions)" if "s3" in loaded else "")
            + (f"; kept in the snapshot for when they are enabled again: {', '.join(skipped)}" if skipped else ""))

    @staticmethod
    def _transplant(live, saved) -> None:
        """Puts the saved contents into the live container, which the providers reference by identity."""
        from localstack.services.stores import AccountRegionBundle

        dict.clear(live)
        dict.update(live, saved)
        if isinstance(live, AccountRegionBundle):
            live.__dict__.update(saved.__dict__)  # the region bundles share its lock and cross-account dict

    def _restore_s3_objects(self, service, folder: Path) -> None:
        storage = service._provider._storage_backend
        for bucket, s3_object in self._s3_object_versions():
            # The storage backend spools large objects into a folder per bucket.
            os.makedirs(os.path.join(storage.root_directory, bucket), exist_ok=True)
            source = folder / self._object_file_name(bucket, s3_object)
            if not source.exists():
                log(f"s3: no saved bytes for s3://{bucket}/{s3_object.key} ({s3_object.version_id})")
                continue
            # Writing recomputes the ETag and the modification stamp; keep the saved ones (multipart ETags).
            etag, stamp = s3_object.etag, s3_object.internal_last_modified
            with open(source, "rb") as data, storage.open(bucket, s3_object, mode="w") as stored:
                stored.write(data)
            s3_object.etag, s3_object.internal_last_modified = etag, stamp

    @staticmethod
    def _rebuild_events(service) -> None:
        """EventBridge keeps a rule service and target senders per rule in the provider: build them from the stores."""
        from localstack.services.events.models import events_stores
        from localstack.services.events.rule import RuleService

        provider = service._provider
        provider._rule_services_store.clear()
        provider._target_sender_store.clear()
        for account_id, region, store in events_stores.iter_stores():
            for event_bus in store.event_buses.values():
                for rule in event_bus.rules.values():
                    rule_service = RuleService(rule)
                    provider._rule_services_store[rule.arn] = rule_service
                    for target in (rule.targets or {}).values():
                        provider.create_target_sender(target, rule.arn, rule.name, region, account_id)
                    if rule_service.schedule_cron and rule.targets:
                        rule_service.create_schedule_job(
                            provider._get_scheduled_rule_job_function(account_id, region, rule))

    @staticmethod
    def _set_aside(snapshot: Path, reason: str) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = ROOT / f"state.set-aside-{stamp}"
        snapshot.rename(target)
        try:
            notes = json.loads(SET_ASIDE.read_text())
        except (OSError, ValueError):
            notes = []
        notes.append({"path": str(target), "reason": reason, "at": stamp})
        SET_ASIDE.write_text(json.dumps(notes, indent=1))
        log(f"the saved state could not be used and was set aside as {target} ({reason}); "
            "starting empty, with what Ansible configures")

    # -- change tracking and the save loop -------------------------------------------------------------------------

    def on_response(self, _chain, context, response) -> None:
        """Gateway response handler: marks the state as changed after a request that can change it (an operation
        that succeeded and is not a read)."""
        operation = getattr(context, "operation", None)
        service = getattr(context, "service", None)
        if operation is None or service is None or service.service_name not in self.services:
            return
        if getattr(response, "status_code", 200) >= 400:
            return
        if operation.name in READ_ONLY_OPERATIONS or operation.name.startswith(READ_ONLY_PREFIXES):
            return
        self.dirty.set()

    def run(self) -> None:
        while not self.stopping.wait(self.save_interval):
            with self.save_lock:
                if self.stopping.is_set() or not self.dirty.is_set():
                    continue
                self.dirty.clear()
                if not self.save("periodic"):
                    self.dirty.set()  # try again at the next interval

    def start(self) -> None:
        from localstack.aws import handlers

        self.restore()
        handlers.run_custom_response_handlers.append(self.on_response)
        threading.Thread(target=self.run, name="bestshot-devenv-state", daemon=True).start()
        log(f"saving {', '.join(self.services)} every {self.save_interval:g} s after a change, and at shutdown")

    def stop(self) -> None:
        self.stopping.set()
        # Waits for a periodic save under way: the process ends after the shutdown hooks, and a save cut off there
        # never swaps in its snapshot (what it held was lost when it had taken the only "changed" mark).
        with self.save_lock:
            if self.dirty.is_set() or not STATE.exists():
                self.dirty.clear()
                self.save("shutdown")


_persistence: Persistence | None = None


def _settings() -> dict:
    try:
        return json.loads(CONFIG.read_text()).get("state", {})
    except (OSError, ValueError):
        return {}


def start() -> None:
    """ready.d: restore the snapshot, then save after changes. Never raises."""
    global _persistence
    try:
        from localstack import version

        if version.__version__ != SUPPORTED_VERSION:
            log(f"LocalStack {version.__version__} is not {SUPPORTED_VERSION}, the version this persistence is built "
                "for: nothing is restored or saved (the app's data will not survive a restart)")
            return
        settings = _settings()
        if not settings.get("enabled", True):
            log("persistence is turned off (localstack_persistence: false): nothing is restored or saved")
            return
        ROOT.mkdir(parents=True, exist_ok=True)
        _register_lock_reducers()
        services = [name.strip() for name in os.environ.get("SERVICES", "").split(",") if name.strip()] or SERVICES
        _persistence = Persistence(services, float(settings.get("save_interval", 5)))
        _persistence.start()
    except Exception:
        log(f"could not start; LocalStack runs without persistence:\n{traceback.format_exc()}")


def status_lines() -> list[str]:
    """What `status` shows under LocalStack's row (run as a script inside the container; reads files only)."""
    lines = []
    try:
        saved = json.loads((ROOT / "last-save.json").read_text())
        lines.append(f"state: saved {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(saved['at']))} UTC "
                     f"({', '.join(saved['services']) or 'nothing'}; {saved['s3_objects']} S3 object versions; "
                     f"took {saved['seconds']:.2f} s)")
    except (OSError, ValueError, KeyError):
        lines.append("state: nothing saved yet" if _settings().get("enabled", True) else "state: persistence off")
    try:
        notes = json.loads(SET_ASIDE.read_text())
    except (OSError, ValueError):
        notes = []
    for note in notes:
        if Path(note["path"]).exists():  # delete the folder in the volume once it is no longer wanted
            lines.append(f"state set aside (not restored): {note['path']} - {note['reason']}")
    return lines


def save_at_shutdown() -> None:
    """shutdown.d: one last save while the stores are still in memory. Never raises."""
    try:
        if _persistence is not None:
            _persistence.stop()
    except Exception:
        log(f"the shutdown save failed:\n{traceback.format_exc()}")


if __name__ == "__main__":
    print("\n".join(status_lines()))
