# LocalStack shutdown.d hook of bestshot.devenv, run inside LocalStack's process before the state is saved (10-):
# stop firing schedules and let deliveries under way finish (/etc/bestshot-devenv/devenv_scheduler.py;
# stop_at_shutdown() logs errors, never raises).
import sys

sys.path.insert(0, "/etc/bestshot-devenv")
import devenv_scheduler  # noqa: E402

devenv_scheduler.stop_at_shutdown()
