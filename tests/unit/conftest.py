"""Unit tests import the collection as ansible_collections.bestshot.devenv (the checkout linked by `make setup`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".ansible" / "collections"))

import contextlib  # noqa: E402
import json  # noqa: E402

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
