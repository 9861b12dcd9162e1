# LocalStack shutdown.d hook of bestshot.devenv, run inside LocalStack's process before its services stop: save the
# state one last time (/etc/bestshot-devenv/devenv_state.py; save_at_shutdown() logs errors, never raises).
import sys

sys.path.insert(0, "/etc/bestshot-devenv")
import devenv_state  # noqa: E402

devenv_state.save_at_shutdown()
