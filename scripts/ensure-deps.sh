#!/usr/bin/env bash
# ensure-deps.sh installs the system packages `make test` and `make demo` need
# on a fresh Debian/Ubuntu machine: the PostgreSQL server binaries (moosed and
# the tests run a private cluster), bubblewrap (the validation sandbox), git,
# curl, and Node.js with npm when absent.
# It is idempotent and prints nothing when everything is already there.
set -euo pipefail

# The server binaries matter, not just pg_config: libpq-dev ships pg_config
# without a server.
have_postgres() {
	local dir
	if command -v pg_config >/dev/null 2>&1; then
		dir=$(pg_config --bindir 2>/dev/null || true)
		if [[ -n "$dir" && -x "$dir/postgres" && -x "$dir/initdb" ]]; then
			return 0
		fi
	fi
	for dir in /usr/lib/postgresql/*/bin; do
		if [[ -x "$dir/postgres" && -x "$dir/initdb" ]]; then
			return 0
		fi
	done
	return 1
}

missing=()
have_postgres || missing+=(postgresql)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
# Node.js and npm: buf is installed from npm, and the TypeScript sample builds with it.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-deps: missing ${missing[*]} and apt-get is not available; install them with your package manager" >&2
	exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "ensure-deps: missing ${missing[*]}; run as root or install sudo: apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "ensure-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
