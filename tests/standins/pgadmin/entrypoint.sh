#!/usr/bin/env bash
# Entrypoint of the dpage/pgadmin4 stand-in: the official image's start-up contract (see the Dockerfile), written
# for this test fixture. Not supported here: PUID/PGID, TLS, a Unix socket, postfix, an external configuration DB.
set -euo pipefail

# PGADMIN_DEFAULT_PASSWORD may come from a file (Docker secrets).
if [[ -n ${PGADMIN_DEFAULT_PASSWORD_FILE:-} ]]; then
    if [[ -n ${PGADMIN_DEFAULT_PASSWORD:-} ]]; then
        echo >&2 "error: both PGADMIN_DEFAULT_PASSWORD and PGADMIN_DEFAULT_PASSWORD_FILE are set (but are exclusive)"
        exit 1
    fi
    PGADMIN_DEFAULT_PASSWORD=$(<"$PGADMIN_DEFAULT_PASSWORD_FILE")
    export PGADMIN_DEFAULT_PASSWORD
    unset PGADMIN_DEFAULT_PASSWORD_FILE
fi

# config_distro.py: written once, from every PGADMIN_CONFIG_X=value as the Python line `X = value`.
export CONFIG_DISTRO_FILE_PATH=${PGADMIN_CUSTOM_CONFIG_DISTRO_FILE:-/pgadmin4/config_distro.py}
if [[ ! -s $CONFIG_DISTRO_FILE_PATH ]]; then
    {
        echo "CA_FILE = '/etc/ssl/certs/ca-certificates.crt'"
        echo "LOG_FILE = '/dev/null'"
        echo "DEFAULT_BINARY_PATHS = {'pg': '/usr/bin', 'pg-17': '/usr/bin'}"
        while IFS='=' read -r name value; do
            case ${value,,} in
                true) value=True ;;
                false) value=False ;;
            esac
            echo "${name#PGADMIN_CONFIG_} = ${value}"
        done < <(env | grep '^PGADMIN_CONFIG_')
    } >"$CONFIG_DISTRO_FILE_PATH"
fi

desktop_mode() { [[ ${PGADMIN_CONFIG_SERVER_MODE:-} == False || ${PGADMIN_CONFIG_SERVER_MODE:-} == false ]]; }

load_servers() {
    local file=${PGADMIN_SERVER_JSON_FILE:-/pgadmin4/servers.json} extra=()
    [[ ${PGADMIN_REPLACE_SERVERS_ON_STARTUP:-} == True ]] && extra=(--replace)
    [[ -f $file ]] || return 0
    if desktop_mode; then
        python3 /pgadmin4/setup.py load-servers "$file" "${extra[@]}"
    else
        python3 /pgadmin4/setup.py load-servers "$file" --user "$PGADMIN_DEFAULT_EMAIL" "${extra[@]}"
    fi
}

if [[ ! -f /var/lib/pgadmin/pgadmin4.db ]]; then
    if [[ -z ${PGADMIN_DEFAULT_EMAIL:-} || -z ${PGADMIN_DEFAULT_PASSWORD:-} ]]; then
        echo 'You need to define the PGADMIN_DEFAULT_EMAIL and PGADMIN_DEFAULT_PASSWORD or PGADMIN_DEFAULT_PASSWORD_FILE environment variables.'
        exit 1
    fi
    export PGADMIN_SETUP_EMAIL=$PGADMIN_DEFAULT_EMAIL PGADMIN_SETUP_PASSWORD=$PGADMIN_DEFAULT_PASSWORD
    # Importing the app creates the configuration database and its first user.
    (cd /pgadmin4 && python3 run_pgadmin.py)
    load_servers
    if [[ -n ${PGPASS_FILE:-} && -f $PGPASS_FILE ]]; then
        if desktop_mode; then
            target=/var/lib/pgadmin/.pgpass
        else
            target=/var/lib/pgadmin/storage/${PGADMIN_DEFAULT_EMAIL//@/_}/.pgpass
            mkdir -p "$(dirname "$target")"
        fi
        cp "$PGPASS_FILE" "$target" && chmod 600 "$target"
    fi
elif [[ ${PGADMIN_REPLACE_SERVERS_ON_STARTUP:-} == True ]]; then
    load_servers
fi

timeout=$(cd /pgadmin4 && python3 -c 'import config; print(config.SESSION_EXPIRATION_TIME * 60 * 60 * 24)')
python=/venv/bin/python3-cap
[[ -x $python ]] || python=/venv/bin/python3
exec "$python" /venv/bin/gunicorn --timeout "$timeout" \
    --bind "${PGADMIN_LISTEN_ADDRESS:-[::]}:${PGADMIN_LISTEN_PORT:-80}" \
    -w 1 --threads "${GUNICORN_THREADS:-25}" --access-logfile "${GUNICORN_ACCESS_LOGFILE:--}" run_pgadmin:app
