#!/bin/sh
# bestshot.devenv's state script for LocalStack: `devenv-state.sh restore` (the ready.d hook) or `save` (teardown).
# It needs boto3, which LocalStack's own virtualenv has; the image's system python3 may not.
py=/opt/code/localstack/.venv/bin/python
[ -x "$py" ] || py=python3
exec "$py" /etc/bestshot-devenv/devenv-state.py "$@"
