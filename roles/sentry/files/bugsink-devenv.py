# Brings Bugsink in line with the role's settings, in one run inside the container (one start of Django instead of a
# start per step and a round trip from Ansible per REST call). Runs as `bugsink-manage shell -c <this file>`, reading
# JSON from DEVENV_INPUT:
#   {"actions": [some of "access", "projects", "alerts", in this order], "check": bool, ...}
#   access: {"email": ..., "password": ..., "token": ...}
#       the admin user (superuser, log-in e-mail, password) and the API token the projects action uses
#   projects: {"token": ..., "base_url": ..., "teams": [names], "project_settings": sentry_projects}
#       the teams and projects, through the tracker's REST API on the server in this container (so that the API's own
#       rules make the slug, key and DSN), and the DSN of every project; a project in another team than configured
#       is moved there (the API cannot move a project)
#   alerts: {"email": ..., "email_alerts": bool, "projects": [names],
#            "webhooks": [{"name", "kind", "url", "state", "projects": [names; none or empty: every project]}]}
#       the admin's team and project memberships (e-mail alerts) and the projects' messaging channels
# With "check": true nothing is written. Prints one line: BESTSHOT-DEVENV-RESULT {"changes": [...], "notes": [...],
# "error": ..., "digest": ..., "dsns": {project name: DSN}}. Nothing secret is ever printed, apart from the digest (a
# SHA-256; see below) and the DSNs (which the env file holds), which the role keeps with the secrets.
#
# The quick check: {"actions": ["digest"], and the settings of all three actions}, run as `python3 -c <this file>`
# (no Django: a fraction of a second instead of two or three). It only returns the digest: a SHA-256 over those
# settings and over the rows of the tracker's database that the role's runs read or write (users, API tokens, teams
# and projects, memberships, messaging channels; not what changes as the tracker runs, such as log-in times, event
# counts or a channel's last failure). The full run returns the digest of what it left. When the quick check returns
# the same digest on a later run, nothing the role manages in the tracker has changed since: the role skips the full
# run and takes the DSNs it noted then.
# The rows are read from Bugsink 2.6.2's SQLite database (DATABASE_PATH) with the standard library. Where that schema
# or database is not found (another release), the digest is null with a note, and the full run happens every time.
import json
import os

RESULT_MARKER = "BESTSHOT-DEVENV-RESULT"
WEBHOOK_KINDS = ("slack", "mattermost", "discord", "custom")


# The quick check's rows: table -> the columns the full run reads or writes (Bugsink 2.6.2's schema).
DIGEST_TABLES = {
    "auth_user": ("id", "username", "email", "password", "is_superuser", "is_staff", "is_active"),
    "bsmain_authtoken": ("id", "token"),
    "teams_team": ("id", "name"),
    "teams_teammembership": ("id", "team_id", "user_id", "accepted"),
    "projects_project": ("id", "name", "slug", "sentry_key", "team_id", "is_deleted", "alert_on_new_issue",
                         "alert_on_regression", "alert_on_unmute"),
    "projects_projectmembership": ("id", "project_id", "user_id", "accepted", "send_email_alerts"),
    "alerts_messagingserviceconfig": ("id", "project_id", "display_name", "kind", "config"),
}
DIGEST_SETTINGS = ("email", "password", "token", "email_alerts", "projects", "webhooks", "teams", "project_settings",
                   "base_url")


def state_digest(spec):
    """The quick check's SHA-256 (see the top of this file), or raises sqlite3.Error / KeyError."""
    import hashlib
    import sqlite3

    database = sqlite3.connect(f"file:{os.environ['DATABASE_PATH']}?mode=ro", uri=True)
    try:
        rows = {table: database.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").fetchall()
                for table, columns in DIGEST_TABLES.items()}
    finally:
        database.close()
    settings = {key: spec.get(key) for key in DIGEST_SETTINGS}
    return hashlib.sha256(json.dumps([settings, rows], sort_keys=True, default=str).encode()).hexdigest()


def ensure_access(spec, changed):
    from bsmain.models import AuthToken
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    user = user_model.objects.filter(username=spec["email"]).first()
    if user is None:
        changed.append("admin user created")
        if not spec["check"]:
            user_model.objects.create_superuser(username=spec["email"], email=spec["email"],
                                                password=spec["password"])
    else:
        fixes = []
        if not (user.is_superuser and user.is_staff and user.is_active):
            user.is_superuser = user.is_staff = user.is_active = True
            fixes.append("admin rights")
        if user.email != spec["email"]:
            user.email = spec["email"]
            fixes.append("admin e-mail")
        if not user.check_password(spec["password"]):
            user.set_password(spec["password"])
            fixes.append("admin password")
        if fixes:
            changed.extend(fixes)
            if not spec["check"]:
                user.save()

    if not AuthToken.objects.filter(token=spec["token"]).exists():
        changed.append("API token created")
        if not spec["check"]:
            description = "bestshot.devenv (Ansible)"
            if hasattr(AuthToken, "create_full_access"):
                AuthToken.create_full_access(token=spec["token"], description=description)
            else:  # releases before token capabilities: every token has full access
                AuthToken.objects.create(token=spec["token"], description=description)


def ensure_membership(model, lookup, wanted, changed, label, check):
    membership = model.objects.filter(**lookup).first()
    if membership is None:
        changed.append(f"{label} membership created")
        if not check:
            model.objects.create(**lookup, **wanted)
        return
    stale = {key: value for key, value in wanted.items() if getattr(membership, key) != value}
    if stale:
        changed.append(f"{label} membership updated")
        if not check:
            for key, value in stale.items():
                setattr(membership, key, value)
            membership.save()


def ensure_alerts(spec, changed):
    from alerts.models import MessagingServiceConfig
    from django.contrib.auth import get_user_model
    from projects.models import Project, ProjectMembership
    from teams.models import TeamMembership

    user = get_user_model().objects.get(username=spec["email"])
    check = spec["check"]
    for name in spec["projects"]:
        project = Project.objects.filter(name=name, is_deleted=False).first()
        if project is None and check:  # one the projects action would create
            changed.append(f"memberships and channels of project {name} set up once it exists")
            continue
        if project is None:
            raise LookupError(f"project {name!r} does not exist")
        if project.team is not None:
            ensure_membership(TeamMembership, {"team": project.team, "user": user}, {"accepted": True},
                              changed, f"team {project.team.name}", check)
        ensure_membership(ProjectMembership, {"project": project, "user": user},
                          {"accepted": True, "send_email_alerts": spec["email_alerts"]},
                          changed, f"project {project.name}", check)

        for hook in [hook for hook in spec["webhooks"] if name in (hook.get("projects") or [name])]:
            label = f"channel {hook['name']} of {project.name}"
            existing = MessagingServiceConfig.objects.filter(project=project, display_name=hook["name"])
            if hook.get("state", "present") == "absent":
                if existing.exists():
                    changed.append(f"{label} removed")
                    if not check:
                        existing.delete()
                continue
            if hook["kind"] not in WEBHOOK_KINDS:
                raise ValueError(f"{label}: kind must be one of {', '.join(WEBHOOK_KINDS)}")
            config = json.dumps({"webhook_url": hook["url"]})
            channel = existing.first()
            if channel is None:
                changed.append(f"{label} created")
                if not check:
                    MessagingServiceConfig.objects.create(project=project, display_name=hook["name"],
                                                          kind=hook["kind"], config=config)
            elif channel.kind != hook["kind"] or json.loads(channel.config) != json.loads(config):
                changed.append(f"{label} updated")
                if not check:
                    channel.kind = hook["kind"]
                    channel.config = config
                    channel.clear_failure_status()
                    channel.save()


def api(spec, method, path, body=None):
    """One call of the tracker's REST API (below /api/canonical/0/, or a page's full "next" URL) on the server in this
    container, with the role's token; raises RuntimeError naming the call and the answer when it is refused."""
    from urllib import error, parse, request

    prefix = parse.urlsplit(spec["base_url"]).path.rstrip("/")  # BASE_URL may serve Bugsink below a path
    url = path if "://" in path else f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{prefix}/api/canonical/0/{path}"
    call = request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                           headers={"Authorization": f"Bearer {spec['token']}", "Accept": "application/json",
                                    "Content-Type": "application/json"})
    try:
        with request.urlopen(call, timeout=30) as answer:
            return json.load(answer)
    except error.HTTPError as exc:
        detail = exc.read()[:300].decode(errors="replace")
        raise RuntimeError(f"the tracker's API refused {method} {path} {json.dumps(body or {})}: HTTP {exc.code} "
                           f"{detail}") from None


def api_list(spec, path):
    """Every item of a listing, page after page."""
    items = []
    while path:
        page = api(spec, "GET", path)
        items += page["results"]
        path = page.get("next")
    return items


def ensure_projects(spec, changed):
    """The teams and projects; returns project name -> DSN (of those that exist)."""
    from bsmain.models import AuthToken
    from projects.models import Project

    check = spec["check"]
    # In check mode access made nothing: the API refuses a token that a real run has yet to create.
    if check and not AuthToken.objects.filter(token=spec["token"]).exists():
        changed.append("teams and projects checked once the API token exists")
        return {}
    teams = {team["name"]: team["id"] for team in api_list(spec, "teams/")}
    for name in spec["teams"]:
        if name not in teams:
            changed.append(f"team {name} created")
            if not check:
                teams[name] = api(spec, "POST", "teams/", {"name": name})["id"]
    found = {project["name"]: project for project in api_list(spec, "projects/")}
    created = False
    for settings in spec["project_settings"]:
        name = settings["name"]
        team = settings.get("team") or spec["teams"][0]
        flags = {key: settings.get(key) is not False
                 for key in ("alert_on_new_issue", "alert_on_regression", "alert_on_unmute")}
        project = found.get(name)
        if project is None:
            changed.append(f"project {name} created")
            if not check:
                api(spec, "POST", "projects/", {"name": name, "team": teams[team], **flags})
                created = True
            continue
        if any(project[key] != value for key, value in flags.items()):
            changed.append(f"project {name} alert settings updated")
            if not check:
                api(spec, "PATCH", f"projects/{project['id']}/", flags)
        if project["team"] != teams.get(team):
            changed.append(f"project {name} moved to team {team}")
            if not check:  # Bugsink 2.6.2's API keeps a project's team as it was created
                Project.objects.filter(pk=project["id"]).update(team_id=teams[team])
    if created:  # their DSNs
        found = {project["name"]: project for project in api_list(spec, "projects/")}
    return {name: project["dsn"] for name, project in found.items()}


def apply(spec, changed):
    """Runs the actions; returns the DSNs (projects). The API's server must see what access wrote, so each action
    commits on its own."""
    from django.db import transaction

    dsns = {}
    for action in spec["actions"]:
        if action == "access":
            with transaction.atomic():
                ensure_access(spec, changed)
        elif action == "projects":  # the REST calls: not inside a transaction of this process (SQLite's one writer)
            dsns = ensure_projects(spec, changed)
        elif action == "alerts":
            with transaction.atomic():
                ensure_alerts(spec, changed)
        else:
            raise ValueError(f"unknown action {action!r}")
    return dsns


def main():
    spec = json.loads(os.environ["DEVENV_INPUT"])
    changed = []
    notes = []
    error = None
    digest = None
    dsns = {}
    try:
        if spec["actions"] != ["digest"]:
            dsns = apply(spec, changed)
    except Exception as exc:  # reported to Ansible, which fails the task with this message
        error = f"{type(exc).__name__}: {exc}"
    # Of what the tracker holds now (committed): not when a check-mode run found something to change.
    if error is None and not (spec["check"] and changed):
        try:
            digest = state_digest(spec)
        except Exception as exc:  # another release's schema: no quick check, the full run every time
            notes.append(f"no quick check of the tracker's admin user, token and alert channels ({type(exc).__name__}:"
                         f" {exc}); every run checks them in full (made for Bugsink 2.6.2)")
    print(RESULT_MARKER, json.dumps({"changes": changed, "notes": notes, "error": error, "digest": digest,
                                      "dsns": dsns}))


main()
