#!/bin/sh
# Entrypoint of the swaggerapi/swagger-ui stand-in: writes nginx's site and swagger-initializer.js from the
# environment (configure.py), then runs the command (nginx in the foreground).
set -e
python3 /usr/local/bin/configure.py
exec "$@"
