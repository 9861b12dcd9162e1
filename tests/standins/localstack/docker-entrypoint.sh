#!/usr/bin/env bash
# Entrypoint of the localstack/localstack:4.14.0 stand-in (test fixture), written for bestshot.devenv's tests after
# the documented behaviour of the official image: LOCALSTACK_<NAME> settings become <NAME> (LOCALSTACK_HOST keeps
# its name), the log folder exists in the volume, boot hooks run, then the supervisor starts the runtime.
set -eo pipefail
shopt -s nullglob

while IFS='=' read -r name _; do
	case $name in
		LOCALSTACK_HOST) ;;
		LOCALSTACK_?*) export "${name#LOCALSTACK_}=${!name}" ;;
	esac
done < <(env)

mkdir -p /var/lib/localstack/logs

python3 -m localstack.runtime.init BOOT

exec localstack-supervisor
