#!/usr/bin/env bash
# Kill test: `kill -9` of stpm at random moments, then the documented recovery, must end exactly where an
# uninterrupted run ends and leave nothing half-written in view.
#   train      20 kills (some before the first checkpoint); recovery: `stpm train ... --resume`, and when
#              that says the run stopped before its first checkpoint, the same command without --resume.
#              The student must be bit-identical to an uninterrupted run's.
#   threshold  5 kills; config.json must stay a valid model configuration (stpm score accepts it).
#   export     5 kills; a re-run with --force must leave no temporary file and the files of an
#              uninterrupted export.
#   STPM=/path/to/stpm Tests/e2e/kill.sh   (make test passes the debug binary)
# KILLS=n changes the number of training kills, OTHER_KILLS=n those of threshold and export.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
STPM=$(realpath "${STPM:-.build/debug/stpm}")
KILLS=${KILLS:-20}
OTHER_KILLS=${OTHER_KILLS:-5}
WORK=$(mktemp -d /tmp/stpm-kill-e2e.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL  $1"; failures=$((failures + 1)); }
OPTS=(--size 32 --epochs 2 --batch 2 --threads 1)

python3 Tests/e2e/make_dataset.py "$WORK/data"
# 5 normal images (4 train, 1 held out): 2 steps per epoch, so kills land in steps, validation and saves alike.
rm "$WORK"/data/train/good/00[5-9].png "$WORK"/data/train/good/01*.png
start=$(date +%s%N)
"$STPM" train "$WORK/data" --out "$WORK/reference" "${OPTS[@]}" >/dev/null
run_ms=$(( ($(date +%s%N) - start) / 1000000 ))
want=$(sha256sum <"$WORK/reference/student.safetensors")
echo "== train: uninterrupted run ${run_ms} ms; $KILLS kills at random moments"

# Kill moments spread over a run of $3 ms: moment k of n falls in the k-th slice, at a random point inside it.
moment() { awk -v k="$1" -v n="$2" -v ms="$3" -v r="$RANDOM" 'BEGIN { printf "%.3f", (k + r / 32768) * ms / n / 1000 }'; }

early=0
for ((k = 0; k < KILLS; k++)); do
    m="$WORK/train$k"
    "$STPM" train "$WORK/data" --out "$m" "${OPTS[@]}" >/dev/null 2>&1 &
    pid=$!
    sleep "$(moment $k $KILLS $run_ms)"
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    [[ -f $m/checkpoint.safetensors ]] || early=$((early + 1))
    if ! out=$("$STPM" train "$WORK/data" --out "$m" --resume --threads 1 2>&1); then
        if grep -q 'without --resume\|not an stpm model directory' <<<"$out"; then
            "$STPM" train "$WORK/data" --out "$m" "${OPTS[@]}" >/dev/null 2>&1 || { fail "train kill $k: fresh run failed"; continue; }
        else
            fail "train kill $k: --resume failed: $out"; continue
        fi
    fi
    got=$(sha256sum <"$m/student.safetensors")
    [[ $got == "$want" ]] || fail "train kill $k: student differs from the uninterrupted run's"
    leftovers=$(find "$m" -name '.*tmp' | wc -l)
    (( leftovers == 0 )) || fail "train kill $k: $leftovers temporary files left after recovery"
done
echo "   $early of $KILLS kills came before the first checkpoint"

echo "== threshold: $OTHER_KILLS kills"
start=$(date +%s%N)
cp -r "$WORK/reference" "$WORK/t"
"$STPM" threshold "$WORK/t" --value 0.5 >/dev/null
t_ms=$(( ($(date +%s%N) - start) / 1000000 ))
for ((k = 0; k < OTHER_KILLS; k++)); do
    "$STPM" threshold "$WORK/t" --value "0.$k" >/dev/null 2>&1 &
    pid=$!
    sleep "$(moment $k $OTHER_KILLS $t_ms)"
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    "$STPM" score "$WORK/t" "$WORK/data/test/good/000.png" >/dev/null 2>&1 || fail "threshold kill $k: the model no longer loads"
done

echo "== export: $OTHER_KILLS kills"
start=$(date +%s%N)
"$STPM" export "$WORK/reference" "$WORK/data" --out "$WORK/export-ref" --threshold 0 >/dev/null
e_ms=$(( ($(date +%s%N) - start) / 1000000 ))
want_files=$(ls "$WORK/export-ref" | sort)
for ((k = 0; k < OTHER_KILLS; k++)); do
    e="$WORK/export$k"
    "$STPM" export "$WORK/reference" "$WORK/data" --out "$e" --threshold 0 >/dev/null 2>&1 &
    pid=$!
    sleep "$(moment $k $OTHER_KILLS $e_ms)"
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    "$STPM" export "$WORK/reference" "$WORK/data" --out "$e" --threshold 0 --force >/dev/null 2>&1 || fail "export kill $k: re-run failed"
    [[ $(ls -A "$e" | sort) == "$want_files" ]] || fail "export kill $k: files differ from an uninterrupted export: $(ls -A "$e" | tr '\n' ' ')"
done

if (( failures > 0 )); then echo "$failures kill check(s) failed"; exit 1; fi
echo "all kill checks passed in ${SECONDS}s"
