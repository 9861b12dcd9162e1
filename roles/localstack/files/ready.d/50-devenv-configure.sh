#!/bin/sh
# LocalStack ready.d hook of bestshot.devenv: restore the saved state, then what Ansible configured.
exec /etc/bestshot-devenv/devenv-state.sh restore
