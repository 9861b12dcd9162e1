"""Unit tests import the collection as ansible_collections.bestshot.devenv (the checkout linked by `make setup`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".ansible" / "collections"))

import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tarfile  # noqa: E402

import pytest  # noqa: E402


@contextlib.contextmanager
def module_args(args: dict):
    """Hands args to AnsibleModule the way the running ansible-core does."""
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core >= 2.19
    except ImportError:
        from ansible.module_utils import basic
        from ansible.module_utils.common.text.converters import to_bytes

        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        yield
        return
    with patch_module_args(args):
        yield


def run_module(capsys, module, check_mode: bool = False, diff: bool = False, **args) -> dict:
    """Runs a module's main() with args (and check/diff mode) and returns its JSON result."""
    with module_args({**args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


def never_started(name: str, *create_args: str) -> str:
    """Creates the container `name` (never started; `create_args` go to `docker create`) of an image with no file,
    `name`-empty:latest, imported from an empty tar archive: a real container on a machine where no image can be
    pulled, which cannot run (a start fails). Returns the image's name (remove it after the container)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w"):
        pass
    image = f"{name}-empty:latest"
    imported = subprocess.run(["docker", "import", "-", image], input=buffer.getvalue(), capture_output=True,
                              check=False)
    assert imported.returncode == 0, imported.stderr
    created = docker("create", "--name", name, *create_args, image, "true")
    assert created.returncode == 0, created.stderr
    return image
