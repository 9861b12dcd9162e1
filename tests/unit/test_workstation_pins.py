"""The bootstrap venv on remote workstations must hold the same libraries the controller's requirements.txt pins
for the modules (requests, boto3, botocore, psycopg): a module tested with one version must not meet another."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def pins(lines):
    found = {}
    for line in lines:
        line = line.split("#")[0].split(";")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            found[name.split("[")[0].strip().lower()] = version.strip()
    return found


def test_the_bootstrap_venv_pins_the_module_libraries_of_requirements_txt():
    controller = pins((REPO / "requirements.txt").read_text().splitlines())
    defaults = yaml.safe_load((REPO / "roles" / "workstation" / "defaults" / "main.yml").read_text())
    venv = pins(defaults["workstation_python_packages"])
    for library in ("requests", "boto3", "botocore", "psycopg"):
        assert venv[library] == controller[library], library
