#!/usr/bin/env bash
# scripts/refinement.sh BIN [LABEL]: the refinement loop's effect, measured.
# Starts the moosed in BIN (with BIN's plugins) on a fresh data directory and
# runs the demo suites (go-calc and node-strings, variants baseline and
# improved) and the refinement suite (variant refiner) from this checkout, every
# proposal built and tested for real. Prints, per suite and variant, pass@1
# (accepted in the first cycle), pass after refinement (accepted at all) and
# the mean number of cycles. `make refinement` runs it for the moosed before the
# refinement changes and for this checkout's, side by side.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:?usage: scripts/refinement.sh BIN [LABEL]}" && pwd)
label=${2:-$(basename "$bin")}
work=${MOOSE_REFINEMENT_DIR:-/tmp/moose-refinement-$(id -u)}/$label
grpc=${MOOSE_REFINEMENT_GRPC:-127.0.0.1:7420}
http=${MOOSE_REFINEMENT_HTTP:-127.0.0.1:7421}

rm -rf "$work"
mkdir -p "$work"
chmod 755 "$work" "$(dirname "$work")"
repo() { # repo NAME: a fresh git repository holding examples/NAME
  cp -r "$root/examples/$1" "$work/$1"
  rm -rf "$work/$1/node_modules"
  git -C "$work/$1" init -q -b main
  git -C "$work/$1" add -A
  git -C "$work/$1" -c user.name=moose -c user.email=moose@localhost commit -q -m "$1 sample"
}
repo go-calc
repo node-strings

export MOOSE_DATA_DIR="$work/data"
flags=(--data-dir "$work/data" --grpc-addr "$grpc" --http-addr "$http" --plugin-dir "$bin")
# Flags the older moosed does not know are passed only where it has them.
help=$("$bin/moosed" --help 2>&1 || true)
[[ $help == *repo-roots* ]] && flags+=(--repo-roots "$work")
"$bin/moosed" "${flags[@]}" >"$work/moosed.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  curl -fsS "http://$http/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://$http/healthz" >/dev/null || { echo "moosed did not start; log:" >&2; tail -30 "$work/moosed.log" >&2; exit 1; }

ctl() { "$bin/moosectl" --server "$grpc" "$@"; }
ctl variant create baseline --plugin replay --model gpt-4o-mini --base-url "$root/examples/cassettes/baseline.yaml" >/dev/null
ctl variant create improved --plugin replay --model qwen2.5-coder-7b-moose-ft --base-url "$root/examples/cassettes/improved.yaml" >/dev/null
ctl variant create refiner --plugin replay --model qwen2.5-coder-7b-moose-ft --base-url "$root/examples/cassettes/refinement.yaml" >/dev/null

# summary SUITE TABLE: one line per variant column of a suite table.
summary() {
  awk -v suite="$1" -v label="$label" '
    /^METRIC/ { for (i = 2; i <= NF; i++) name[i-1] = tolower($i); n = NF - 1 }
    /^work orders/ { for (i = 1; i <= n; i++) total[i] = $(NF - n + i) }
    /^accepted \(pass rate\)/ { for (i = 1; i <= n; i++) { split($(2 + 2*i), a, "/"); acc[i] = a[1] } }
    /^fixed by refinement/ { for (i = 1; i <= n; i++) fixed[i] = $(NF - n + i) }
    /^mean cycles/ { for (i = 1; i <= n; i++) cyc[i] = $(NF - n + i) }
    END { for (i = 1; i <= n; i++) printf "%-8s %-12s %-9s %3d/%-3d %3d/%-3d %s\n", label, suite, name[i], acc[i] - fixed[i], total[i], acc[i], total[i], cyc[i] }
  ' "$2"
}
run() { # run SUITE REPO VARIANT...
  local suite=$1 repo=$2
  shift 2
  local args=()
  for v in "$@"; do args+=(--variant "$v"); done
  ctl suite run "$root/examples/suites/$suite.yaml" --repo "$work/$repo" "${args[@]}" >"$work/$suite.txt" 2>&1 || { cat "$work/$suite.txt" >&2; exit 1; }
  summary "$suite" "$work/$suite.txt" >>"$work/summary.txt"
}
: >"$work/summary.txt"
for suite in ${MOOSE_REFINEMENT_SUITES:-go-calc node-strings refinement}; do
  case $suite in
    go-calc) run go-calc go-calc baseline improved ;;
    node-strings) run node-strings node-strings baseline improved ;;
    refinement) run refinement go-calc refiner ;;
    *) echo "unknown suite $suite" >&2; exit 2 ;;
  esac
done
cat "$work/summary.txt"
