# LocalStack ready.d hook of bestshot.devenv, run inside LocalStack's process after the state is restored: start the
# engine that makes EventBridge Scheduler schedules fire (/etc/bestshot-devenv/devenv_scheduler.py; start() logs
# errors, never raises).
import sys

sys.path.insert(0, "/etc/bestshot-devenv")
import devenv_scheduler  # noqa: E402

devenv_scheduler.start()
