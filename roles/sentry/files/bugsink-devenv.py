# Brings the parts of Bugsink that its REST API does not manage in line with the role's settings.
# Runs inside the container as `bugsink-manage shell -c <this file>`, reading JSON from DEVENV_INPUT:
#   {"actions": [one or both of "access", "alerts", in this order], "check": bool, ...}
#   access: {"email": ..., "password": ..., "token": ...}
#       the admin user (superuser, log-in e-mail, password) and the API token the role's REST calls use
#   alerts: {"email": ..., "email_alerts": bool, "projects": [names],
#            "webhooks": [{"name", "kind", "url", "state", "projects": [names; none or empty: every project]}]}
#       the admin's team and project memberships (e-mail alerts) and the projects' messaging channels
# With "check": true nothing is written. Prints one line: BESTSHOT-DEVENV-RESULT {"changes": [...], "notes": [...],
# "error": ..., "digest": ...}. Nothing secret is ever printed, apart from the digest (a SHA-256; see below), which the
# role keeps with the secrets.
#
# The quick check: {"actions": ["digest"], and the settings of access and alerts and of the teams and projects},
# run as `python3 -c <this file>` (no Django: a fraction of a second instead of two or three). It only returns the
# digest: a SHA-256 over those settings and over the rows of the tracker's database that the role's runs read or
# write (users, API tokens, teams and projects, memberships, messaging channels; not what changes as the tracker
# runs, such as log-in times, event counts or a channel's last failure). The full run returns the digest of what it
# left. When the quick check returns the same digest on a later run, nothing the role manages in the tracker has
# changed since: the role skips its REST calls and the full run, and takes the DSNs it noted then.
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


def apply(spec, changed):
    from django.db import transaction

    with transaction.atomic():
        for action in spec["actions"]:
            if action == "access":
                ensure_access(spec, changed)
            elif action == "alerts":
                ensure_alerts(spec, changed)
            else:
                raise ValueError(f"unknown action {action!r}")


def main():
    spec = json.loads(os.environ["DEVENV_INPUT"])
    changed = []
    notes = []
    error = None
    digest = None
    try:
        if spec["actions"] != ["digest"]:
            apply(spec, changed)
    except Exception as exc:  # reported to Ansible, which fails the task with this message
        error = f"{type(exc).__name__}: {exc}"
    # Of what the tracker holds now (committed): not when a check-mode run found something to change.
    if error is None and not (spec["check"] and changed):
        try:
            digest = state_digest(spec)
        except Exception as exc:  # another release's schema: no quick check, the full run every time
            notes.append(f"no quick check of the tracker's admin user, token and alert channels ({type(exc).__name__}:"
                         f" {exc}); every run checks them in full (made for Bugsink 2.6.2)")
    print(RESULT_MARKER, json.dumps({"changes": changed, "notes": notes, "error": error, "digest": digest}))


main()
