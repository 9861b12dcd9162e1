#!/bin/sh
# LocalStack ready.d hook of bestshot.devenv: make sure what Ansible configures exists (after the state restore).
# devenv-configure.py needs boto3, which LocalStack's own virtualenv has; the image's system python3 may not.
py=/opt/code/localstack/.venv/bin/python
[ -x "$py" ] || py=python3
exec "$py" /etc/bestshot-devenv/devenv-configure.py
