#!/usr/bin/env bash
# Issue 21's bad-input cases, each run as a user would: prints exit code, stderr line count, first stderr line.
# Usage: bash docs/results/hardening/cases.sh   (from the repository root, with the venv's llm-modulo on PATH)
set -u
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
PB=${PLANBENCH:-../shared/benchmarks/planbench}
D=$PB/blocksworld/generated_domain.pddl; P=$PB/blocksworld/generated_basic/instance-162.pddl
GOLD='(unstack b c)\n(stack b a)\n(pick-up c)\n(stack c b)\n'
printf "$GOLD" > "$W/gold.plan"
printf "(pick-up a)\n(stack a a)\n[PLAN]\n$GOLD" > "$W/marker.plan"
printf "${GOLD}Plan ending here, next:\n(stack a a)\n" > "$W/planend.plan"
printf "(unstack blue orange)\n(stack blue red)\n(pick-up orange)\n(stack orange blue)\n" > "$W/colour.plan"
printf "${GOLD}; cost = 4 (unit cost)\n" > "$W/fd.plan"
printf "0.000: (unstack b c) [1]\n1.000: (stack b a) [1]\n2.000: (pick-up c) [1]\n3.000: (stack c b) [1]\n" > "$W/val.plan"
printf "(unstack b c) ; first\n(stack b a)\n(pick-up c)\n(stack c b)\n" > "$W/trailing.plan"
printf '(unstack b c)\n\xe9\n' > "$W/latin1.plan"
head -c 2000 /dev/urandom > "$W/binary.plan"
mkdir "$W/adir"; mkfifo "$W/fifo"
python - "$W" <<'PY'
import sys; open(sys.argv[1] + "/big.plan", "w").write("(" + "x" * 5_000_000 + ")\n")
PY
printf '\xff\xfe\x00garbage' > "$W/notdb.sqlite"
printf 'name = "t"\n[[arms]]\nstrategy = "direct"\n' | iconv -t UTF-16 > "$W/utf16.toml"
run() {  # label, command... (one row of the table)
  local label=$1; shift
  local t0=$(date +%s.%N)
  timeout 60 "$@" > "$W/out" 2> "$W/err"; local rc=$?
  local t1=$(date +%s.%N)
  printf '| %s | `%s` | %s | %s | %.1f s | %s |\n' "$label" "$(echo "$*" | sed "s#$W/##g; s#$PB/##g")" "$rc" \
    "$(grep -c . "$W/err")" "$(echo "$t1 - $t0" | bc)" "$( (if [ -s "$W/err" ]; then head -1 "$W/err"; else head -2 "$W/out" | paste -sd' '; fi) | head -c 120 | sed "s#$W/##g; s/|/\\\\|/g")"
}
echo "| case | command | exit | stderr lines | time | first stderr line (else the verdict's first lines) |"
echo "|---|---|---|---|---|---|"
run "gold plan" llm-modulo validate "$D" "$P" "$W/gold.plan"
run "steps before [PLAN]" llm-modulo validate "$D" "$P" "$W/marker.plan"
run "steps before [PLAN], --lenient" llm-modulo validate --lenient "$D" "$P" "$W/marker.plan"
run "a line starting 'plan end'" llm-modulo validate "$D" "$P" "$W/planend.plan"
run "colour names as objects" llm-modulo validate "$D" "$P" "$W/colour.plan"
run "Fast Downward cost line" llm-modulo validate "$D" "$P" "$W/fd.plan"
run "VAL timestamps" llm-modulo validate "$D" "$P" "$W/val.plan"
run "trailing ; comment" llm-modulo validate "$D" "$P" "$W/trailing.plan"
run "plan not UTF-8" llm-modulo validate "$D" "$P" "$W/latin1.plan"
run "plan binary" llm-modulo validate "$D" "$P" "$W/binary.plan"
run "plan /dev/null" llm-modulo validate "$D" "$P" /dev/null
run "plan a directory" llm-modulo validate "$D" "$P" "$W/adir"
run "domain a pipe" llm-modulo validate "$W/fifo" "$P" "$W/gold.plan"
run "5 MB one-token plan" llm-modulo validate "$D" "$P" "$W/big.plan"
run "5 MB one-token plan, --lenient" llm-modulo validate --lenient "$D" "$P" "$W/big.plan"
run "Tarski file, empty (:types) (:constants)" llm-modulo validate tests/fixtures/planning/tarski/gripper/domain.pddl tests/fixtures/planning/tarski/gripper/instance-1.pddl /dev/null
run "budget rounds=0" llm-modulo solve --instance blocksworld/generated_basic/instance-162 --model random --budget rounds=0
run "budget seconds=nan" llm-modulo solve --instance blocksworld/generated_basic/instance-162 --model random --budget seconds=nan
run "budget key twice" llm-modulo solve --instance blocksworld/generated_basic/instance-162 --model random --budget rounds=1,rounds=2
run "-n 0" llm-modulo solve --instance blocksworld/generated_basic/instance-162 --model random -n 0
run "bad URL" llm-modulo solve --instance blocksworld/generated_basic/instance-162 --model 'openai:http://[::1/v1/x'
run "--instance with --domain" llm-modulo solve --instance "$P" --domain "$D" --problem "$P" --model random
run "store not SQLite" llm-modulo bench examples/tiny_sweep.toml --store "$W/notdb.sqlite" --dry-run
run "config not UTF-8" llm-modulo bench "$W/utf16.toml"
run "config a pipe" llm-modulo bench "$W/fifo"
run "report on a folder" llm-modulo report "$W/adir"
