#!/bin/sh
# Host keys are made per container (two instances must not share them), then sshd runs in the foreground.
set -e
ssh-keygen -A >/dev/null
exec /usr/sbin/sshd -D -e
