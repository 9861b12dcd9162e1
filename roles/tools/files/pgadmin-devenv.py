# Registers the workstation's PostgreSQL in pgAdmin, in one run inside the pgAdmin container (uid 5050):
#   python3 -c <this file>, input as JSON in DEVENV_INPUT:
#   {"check": bool, "passfile": path, "password_line": str ("": no password known yet, the file is left alone),
#    "servers_file": path of the server definition (mounted from the machine), "server": name, "group": name,
#    "database": path of pgAdmin's SQLite database, "schema": the ConfigDB version the query below was written for}
# 1. The password file (0600) in pgAdmin's volume, written when it differs.
# 2. Is the server (by name, in the group) registered? pgAdmin keeps its servers in its SQLite database. With the
#    schema this role was written against (table `version`, ConfigDB = "schema") one read-only query answers;
#    with any other schema pgAdmin's own `setup.py dump-servers` does (slower: it starts the application).
# 3. When it is not (pgAdmin's first start loads the definition itself; a user may have deleted it since), pgAdmin's
#    own `setup.py load-servers` adds it from the definition (the user's other servers are left alone).
# With "check": true nothing is written. Prints one line: BESTSHOT-DEVENV-RESULT {"changes": [...], "notes": [...],
# "error": ...} (a note says when the slower way was taken).
# Nothing secret is ever printed.
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

RESULT_MARKER = "BESTSHOT-DEVENV-RESULT"
WEB = "/pgadmin4"


def ensure_file(path, content, mode, label, check, changed):
    try:
        with open(path, encoding="utf-8") as handle:
            current = handle.read()
        current_mode = os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        current, current_mode = None, None
    if current == content and current_mode == mode:
        return
    changed.append(f"{label} {'written' if current != content else 'mode set'}")
    if check:
        return
    folder = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".devenv-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(content)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def registered_by_query(spec, notes):
    """True/False from pgAdmin's database, or None when its schema is not the one this query was written for."""
    try:
        with sqlite3.connect(f"file:{spec['database']}?mode=ro", uri=True, timeout=10) as db:
            row = db.execute("SELECT value FROM version WHERE name = 'ConfigDB'").fetchone()
            if row is None or int(row[0]) != int(spec["schema"]):
                notes.append(f"pgAdmin's database schema is {row[0] if row else 'unknown'}, not {spec['schema']} "
                             "(pgAdmin 9.18): asked pgAdmin's setup.py dump-servers instead (slower)")
                return None
            found = db.execute(
                "SELECT 1 FROM server JOIN servergroup ON server.servergroup_id = servergroup.id"
                " WHERE server.name = ? AND servergroup.name = ? LIMIT 1",
                (spec["server"], spec["group"]),
            ).fetchone()
            return found is not None
    except sqlite3.Error as exc:
        notes.append(f"pgAdmin's database could not be read ({exc}): asked pgAdmin's setup.py dump-servers instead")
        return None


def registered_by_dump(spec):
    handle, dump = tempfile.mkstemp(prefix="devenv-dump-", suffix=".json")
    os.close(handle)
    try:
        subprocess.run([sys.executable, "setup.py", "dump-servers", dump], cwd=WEB, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        with open(dump, encoding="utf-8") as result:
            servers = (json.load(result).get("Servers") or {}).values()
    finally:
        os.unlink(dump)
    return any(s.get("Name") == spec["server"] and s.get("Group") == spec["group"] for s in servers)


def main():
    spec = json.loads(os.environ["DEVENV_INPUT"])
    changed, notes = [], []
    error = None
    try:
        if spec.get("password_line"):
            ensure_file(spec["passfile"], spec["password_line"], 0o600, "password file", spec["check"], changed)
        registered = registered_by_query(spec, notes)
        if registered is None:
            registered = registered_by_dump(spec)
        if not registered:
            changed.append(f"server {spec['server']!r} registered in the group {spec['group']!r}")
            if not spec["check"]:
                # pgAdmin says what is wrong with a definition on stdout: kept for the error.
                subprocess.run([sys.executable, "setup.py", "load-servers", spec["servers_file"]], cwd=WEB,
                               check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except subprocess.CalledProcessError as exc:
        error = f"{' '.join(exc.cmd[1:3])} failed: {(exc.stderr or exc.output or '').strip()[-300:]}"
    except Exception as exc:  # reported to Ansible, which fails the task with this message
        error = f"{type(exc).__name__}: {exc}"
    print(RESULT_MARKER, json.dumps({"changes": changed, "notes": notes, "error": error}))


main()
