# Brings the parts of Bugsink that its REST API does not manage in line with the role's settings.
# Runs inside the container as `bugsink-manage shell -c <this file>`, reading JSON from DEVENV_INPUT:
#   {"actions": [one or both of "access", "alerts", in this order], "check": bool, ...}
#   access: {"email": ..., "password": ..., "token": ...}
#       the admin user (superuser, log-in e-mail, password) and the API token the role's REST calls use
#   alerts: {"email": ..., "email_alerts": bool, "projects": [names],
#            "webhooks": [{"name", "kind", "url", "state", "projects": [names; none or empty: every project]}]}
#       the admin's team and project memberships (e-mail alerts) and the projects' messaging channels
# With "check": true nothing is written. Prints one line: BESTSHOT-DEVENV-RESULT {"changes": [...], "error": ...}.
# Nothing secret is ever printed.
import json
import os

from django.contrib.auth import get_user_model
from django.db import transaction

RESULT_MARKER = "BESTSHOT-DEVENV-RESULT"
WEBHOOK_KINDS = ("slack", "mattermost", "discord", "custom")


def ensure_access(spec, changed):
    from bsmain.models import AuthToken

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


def main():
    spec = json.loads(os.environ["DEVENV_INPUT"])
    changed = []
    error = None
    try:
        with transaction.atomic():
            for action in spec["actions"]:
                if action == "access":
                    ensure_access(spec, changed)
                elif action == "alerts":
                    ensure_alerts(spec, changed)
                else:
                    raise ValueError(f"unknown action {action!r}")
    except Exception as exc:  # reported to Ansible, which fails the task with this message
        error = f"{type(exc).__name__}: {exc}"
    print(RESULT_MARKER, json.dumps({"changes": changed, "error": error}))


main()
