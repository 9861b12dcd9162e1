#!/usr/bin/env bash
# Entrypoint of the postgres:17 stand-in (test fixture). Written for bestshot.devenv's tests; it follows the
# documented behaviour of the official image:
#   - a first argument starting with "-" means "postgres <flags>";
#   - POSTGRES_PASSWORD / POSTGRES_USER / POSTGRES_DB / POSTGRES_INITDB_ARGS, each also readable from <NAME>_FILE;
#   - the cluster is initialised only when $PGDATA holds no PG_VERSION, then /docker-entrypoint-initdb.d runs
#     (*.sh executed or sourced, *.sql and *.sql.gz fed to psql) against a socket-only temporary server;
#   - clients from outside the container authenticate with scram-sha-256 (or POSTGRES_HOST_AUTH_METHOD);
#   - started as root, it prepares the directories and drops to the postgres user.
set -Eeuo pipefail

die() { printf 'stand-in postgres: %s\n' "$*" >&2; exit 1; }

# read_secret NAME [DEFAULT]: NAME from the environment, or from the file named by NAME_FILE.
read_secret() {
	local name=$1 default=${2:-} file_name="${1}_FILE"
	local value=${!name:-} file=${!file_name:-}
	if [[ -n $value && -n $file ]]; then
		die "both $name and $file_name are set; they are exclusive"
	fi
	if [[ -n $file ]]; then
		[[ -r $file ]] || die "$file_name points to $file, which cannot be read"
		value=$(<"$file")
	fi
	export "$name"="${value:-$default}"
	unset "$file_name"
}

load_settings() {
	read_secret POSTGRES_PASSWORD
	read_secret POSTGRES_USER postgres
	read_secret POSTGRES_DB "$POSTGRES_USER"
	read_secret POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
}

initialise_cluster() {
	if [[ -z $POSTGRES_PASSWORD && $POSTGRES_HOST_AUTH_METHOD != trust ]]; then
		die "the database is uninitialised and no superuser password is given: set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or POSTGRES_HOST_AUTH_METHOD=trust"
	fi
	local pwfile
	pwfile=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of flags on purpose
	initdb --username="$POSTGRES_USER" --pwfile="$pwfile" $POSTGRES_INITDB_ARGS
	rm -f "$pwfile"

	local method=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
	printf '\nhost all all all %s\n' "$method" >>"$PGDATA/pg_hba.conf"

	# Temporary server on the socket only, so nothing outside sees it before initialisation is over.
	PGUSER=$POSTGRES_USER PGPASSWORD=$POSTGRES_PASSWORD \
		pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start

	local psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc --dbname postgres)
	if [[ $POSTGRES_DB != postgres ]]; then
		"${psql[@]}" --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
	fi
	psql+=(--dbname "$POSTGRES_DB")

	local f
	for f in /docker-entrypoint-initdb.d/*; do
		[[ -e $f ]] || continue
		case $f in
			*.sh)
				if [[ -x $f ]]; then echo "running $f"; "$f"; else echo "sourcing $f"; . "$f"; fi ;;
			*.sql) echo "running $f"; "${psql[@]}" -f "$f" ;;
			*.sql.gz) echo "running $f"; gunzip -c "$f" | "${psql[@]}" ;;
			*) echo "ignoring $f" ;;
		esac
	done

	pg_ctl -D "$PGDATA" -m fast -w stop
	echo 'PostgreSQL init process complete; ready for start up.'
}

if [[ ${1:-} == -* ]]; then
	set -- postgres "$@"
fi

if [[ ${1:-} == postgres ]]; then
	load_settings
	if [[ $(id -u) == 0 ]]; then
		mkdir -p "$PGDATA" /var/run/postgresql
		chmod 00700 "$PGDATA"
		chown -R postgres:postgres "$PGDATA" /var/run/postgresql
		exec gosu postgres "$BASH_SOURCE" "$@"
	fi
	if [[ ! -s $PGDATA/PG_VERSION ]]; then
		initialise_cluster
	fi
fi

exec "$@"
