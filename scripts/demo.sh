#!/usr/bin/env bash
# make demo: moosed on its embedded PostgreSQL with the built-in plugins, the
# sample Go project, a suite of 8 work orders run end to end through two
# recorded variants (a typical cheap model, and an improved one), every
# proposal proven by real builds and tests, results compared side by side.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
# The data directory must be enterable by the unprivileged PostgreSQL user.
demo=${MOOSE_DEMO_DIR:-/tmp/moose-demo-$(id -u)}
grpc=${MOOSE_DEMO_GRPC:-127.0.0.1:7410}
http=${MOOSE_DEMO_HTTP:-127.0.0.1:7411}

if [ -d "$demo" ] && [ -f "$demo/moosed.pid" ] && kill -0 "$(cat "$demo/moosed.pid")" 2>/dev/null; then
  kill "$(cat "$demo/moosed.pid")" || true
  sleep 2
fi
rm -rf "$demo"
mkdir -p "$demo"
chmod 755 "$demo"

# The sample project becomes a real git repository; changes are published to
# a local bare repository standing in for the remote.
cp -r "$root/examples/go-calc" "$demo/go-calc"
git -C "$demo/go-calc" init -q -b main
git -C "$demo/go-calc" add -A
git -C "$demo/go-calc" -c user.name=moose -c user.email=moose@localhost commit -q -m "go-calc sample"
git init -q --bare "$demo/published.git"

# moosed writes its first admin token to the data dir; moosectl finds it
# there through MOOSE_DATA_DIR (moosed reads the same variable).
export MOOSE_DATA_DIR="$demo/data"

echo "==> starting moosed (data dir $demo, gRPC $grpc, REST http://$http)"
"$bin/moosed" --data-dir "$demo/data" --grpc-addr "$grpc" --http-addr "$http" \
  --plugin-dir "$bin" --publish-remote "$demo/published.git" --repo-roots "$demo" >"$demo/moosed.log" 2>&1 &
echo $! >"$demo/moosed.pid"
trap 'kill "$(cat "$demo/moosed.pid")" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://$http/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://$http/healthz" >/dev/null || { echo "moosed did not start; log:"; tail -30 "$demo/moosed.log"; exit 1; }

ctl() { "$bin/moosectl" --server "$grpc" "$@"; }

echo "==> registered plugins"
ctl plugin list

echo "==> variants: a typical cheap model (recorded) and an improved one (recorded)"
ctl variant create baseline --plugin replay --model gpt-4o-mini --base-url "$root/examples/cassettes/baseline.yaml" \
  --input-price 0.15 --output-price 0.60 >/dev/null
ctl variant create improved --plugin replay --model qwen2.5-coder-7b-moose-ft --base-url "$root/examples/cassettes/improved.yaml" \
  --input-price 0.05 --output-price 0.10 >/dev/null
ctl variant list
ctl routing set cheap --min 1 --max 3 --variant baseline >/dev/null
ctl routing set strong --min 4 --max 10 --variant improved >/dev/null
ctl routing list

echo "==> one work order by hand: create, approve, watch"
wo=$(ctl wo create --project "$(ctl project create --name go-calc --repo "$demo/go-calc" --branch main --language go -o json | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -1)" \
  --title "Add a rune-aware Truncate function to strutil" \
  --description "Add func Truncate(s string, max int) string to package strutil: at most max runes, ending in … when cut." \
  --criteria 'Truncate("hello world", 5) returns "hell…"' --criteria "table-driven tests" --complexity 5 -o json \
  | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -1)
ctl wo approve "$wo" >/dev/null
ctl wo watch "$wo" || true
ctl wo get "$wo"

echo "==> an architect turns a spec into work orders, created pending for review"
project=$(ctl project list -o json | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -1)
ctl spec decompose "$root/examples/specs/calc-features.md" --project "$project" \
  --architect architect-replay --base-url "$root/examples/cassettes/architect.yaml"

variants=(--variant baseline --variant improved)
# With real API keys in the environment the same suite also runs through real models.
if [ -n "${OPENAI_API_KEY:-}" ]; then
  ctl variant create gpt-4o-mini --plugin openai --model gpt-4o-mini --input-price 0.15 --output-price 0.60 >/dev/null
  variants+=(--variant gpt-4o-mini)
fi
if [ -n "${ANTHROPIC_API_KEY:-}" ]; then
  ctl variant create claude --plugin anthropic --model "${MOOSE_DEMO_CLAUDE_MODEL:-claude-3-5-haiku-latest}" \
    --input-price 0.80 --output-price 4.00 >/dev/null
  variants+=(--variant claude)
fi

echo "==> the suite: 8 work orders × $(( ${#variants[@]} / 2 )) variants, every proposal built and tested for real"
ctl suite run "$root/examples/suites/go-calc.yaml" "${variants[@]}"

echo "==> the TypeScript sample (npm, tsc, vitest): 2 work orders × 2 variants"
cp -r "$root/examples/node-strings" "$demo/node-strings"
rm -rf "$demo/node-strings/node_modules"
git -C "$demo/node-strings" init -q -b main
git -C "$demo/node-strings" add -A
git -C "$demo/node-strings" -c user.name=moose -c user.email=moose@localhost commit -q -m "node-strings sample"
ctl suite run "$root/examples/suites/node-strings.yaml" --repo "$demo/node-strings" --variant baseline --variant improved

echo "==> the learning loop: accepted attempts as fine-tuning data, refinement traces as preference pairs"
ctl dataset export --kind sft --out "$demo/datasets/sft"
ctl dataset export --kind dpo --out "$demo/datasets/dpo"
echo "(JSONL in $demo/datasets)"

echo
echo "Published branches (local bare repository $demo/published.git):"
git -C "$demo/published.git" branch --list 'moose/*' | head -20
echo
echo "moosed stops with this script; everything is kept in $demo/data (log: $demo/moosed.log)."
echo "To explore: bin/moosed --data-dir $demo/data --grpc-addr $grpc --http-addr $http --plugin-dir bin --repo-roots $demo &"
echo "            MOOSE_DATA_DIR=$demo/data bin/moosectl --server $grpc wo list"
echo "            curl -H \"Authorization: Bearer \$(cat $demo/data/admin.token)\" http://$http/v1/workorders"
