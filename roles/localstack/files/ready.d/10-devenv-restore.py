# LocalStack ready.d hook of bestshot.devenv, run inside LocalStack's process before the other hooks: bring back the
# saved state, then save it after changes (/etc/bestshot-devenv/devenv_state.py; start() logs errors, never raises).
import sys

sys.path.insert(0, "/etc/bestshot-devenv")
import devenv_state  # noqa: E402

devenv_state.start()
