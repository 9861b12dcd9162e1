"""The collection calls the devenv role's entry points without Ansible's runtime check of their inputs
(`rolespec_validate: false`: each check costs a run about 0.17 s, and a re-run of the stack makes some 30 calls).
These tests check every such call against meta/argument_specs.yml instead: each required input is given, no input is
given that the entry point does not declare, and a literal value is one of the declared choices. A phase's own
entry points (install, configure) are called unchecked only after its preflight checked the same settings."""

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SPECS = {role.parent.parent.name: yaml.safe_load(role.read_text())["argument_specs"]
         for role in REPO.glob("roles/*/meta/argument_specs.yml")}


def tasks_of(items, inherited=None):
    """Every task of a task list (blocks opened), with the vars of the blocks around it."""
    for item in items or []:
        if not isinstance(item, dict):
            continue
        scoped = {**(inherited or {}), **(item.get("vars") or {})}
        if "block" in item:
            for part in ("block", "rescue", "always"):
                yield from tasks_of(item.get(part), scoped)
        else:
            yield item, scoped


def unchecked_calls():
    """(where, role, entry point, the vars it is given) of every include_role/import_role without the runtime check."""
    for path in sorted([*REPO.glob("roles/*/tasks/*.yml"), *REPO.glob("playbooks/*.yml")]):
        document = yaml.safe_load(path.read_text()) or []
        plays = document if path.parts[-2] == "playbooks" else [{"tasks": document}]
        for play in plays:
            for section in ("pre_tasks", "tasks", "post_tasks"):
                for task, scoped in tasks_of(play.get(section)):
                    for action in ("ansible.builtin.include_role", "ansible.builtin.import_role"):
                        call = task.get(action)
                        if isinstance(call, dict) and call.get("rolespec_validate") is False:
                            where = f"{path.relative_to(REPO)}: {task.get('name')}"
                            yield where, call["name"], call.get("tasks_from", "main"), {**scoped, **task.get("vars", {})}


CALLS = list(unchecked_calls())


def test_the_collection_calls_entry_points_unchecked():
    assert len(CALLS) >= 25  # the scan finds the calls (a changed layout must not make the tests below vacuous)


@pytest.mark.parametrize("where,role,entry,given", [call for call in CALLS if call[1] == "bestshot.devenv.devenv"],
                         ids=[call[0] for call in CALLS if call[1] == "bestshot.devenv.devenv"])
def test_each_call_of_a_devenv_entry_point_gives_what_its_argument_spec_declares(where, role, entry, given):
    options = SPECS["devenv"][entry]["options"]
    required = {name for name, option in options.items() if option.get("required")}
    assert required <= set(given), f"missing required inputs {sorted(required - set(given))}"
    unknown = {name for name in given if name.startswith("_devenv_") and name not in options}
    assert not unknown, f"inputs the entry point {entry} does not declare: {sorted(unknown)}"
    for name, value in given.items():
        choices = options.get(name, {}).get("choices")
        if choices and isinstance(value, str) and "{{" not in value:
            assert value in choices, f"{name}: {value!r} is not one of {choices}"


@pytest.mark.parametrize("where,role,entry,given", [call for call in CALLS if call[1] != "bestshot.devenv.devenv"],
                         ids=[call[0] for call in CALLS if call[1] != "bestshot.devenv.devenv"])
def test_a_phase_step_is_called_unchecked_only_after_its_preflight_checked_the_same_settings(where, role, entry, given):
    assert entry in ("install", "configure"), "only a phase's steps after its preflight may go unchecked"
    site = (REPO / "playbooks" / "site.yml").read_text()
    assert site.index("tasks_from: preflight") < site.index(f"tasks_from: {entry}")
    for phase, specs in SPECS.items():
        if "preflight" in specs:
            assert entry not in specs, f"{phase} declares an entry point {entry}: call it checked"
            assert specs["preflight"]["options"] == specs["main"]["options"], phase
