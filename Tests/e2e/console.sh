#!/usr/bin/env bash
# End-to-end test of `stpm console`: drives the real binary in tmux on a tiny synthetic dataset.
#   Tests/e2e/console.sh            builds the release binary first
#   STPM=/path/to/stpm Tests/e2e/console.sh
# Needs tmux, python3 and the ncurses-term package (tmux-256color, tmux-direct), and the teacher
# weights that scripts/fetch-weights fetches. Takes about a minute.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if [[ -z "${STPM:-}" ]]; then
    swift build -c release --product stpm >/dev/null
    STPM=$PWD/.build/release/stpm
fi
STPM=$(realpath "$STPM")
WORK=$(mktemp -d /tmp/stpm-console-e2e.XXXXXX)
SOCKET="stpm-e2e-$$"
tm() { tmux -L "$SOCKET" "$@"; }
cleanup() { tm kill-server 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
failures=0
pass() { echo "ok    $1"; }
fail() { echo "FAIL  $1"; failures=$((failures + 1)); }
check() { if eval "$2"; then pass "$1"; else fail "$1"; fi; }

screen() { tm capture-pane -p -t "$1"; }
# Waits until the session's screen matches the regex; fails the step after $3 seconds.
wait_for() {
    local session=$1 pattern=$2 timeout=${3:-20} start=$SECONDS
    until screen "$session" | grep -Eq -- "$pattern"; do
        if (( SECONDS - start >= timeout )); then
            echo "--- screen of $session while waiting for /$pattern/:"; screen "$session"; return 1
        fi
        sleep 0.2
    done
}
keys() { local s=$1; shift; for k in "$@"; do tm send-keys -t "$s" "$k"; sleep 0.15; done; }
# Runs the console in a detached session; the shell line after it marks the exit.
launch() {
    local session=$1 cols=$2 rows=$3 term=$4; shift 4
    tm new-session -d -s "$session" -x "$cols" -y "$rows" -c "$WORK" \
        "TERM=$term $STPM console $* ; echo \"console exited \$?\"; sleep 600"
}
first_number_after() { screen "$1" | grep -Eo -- "$2 [0-9]+" | head -1 | grep -Eo '[0-9]+$'; }
# Plotted points: braille dots right of a chart's y-axis (the legend and axes are drawn before any data).
has_points() { screen "$1" | LC_ALL=C.UTF-8 grep -qP '┤[^│]*[\x{2801}-\x{28FF}]'; }
wait_for_points() {
    local start=$SECONDS
    until has_points "$1"; do (( SECONDS - start >= $2 )) && { screen "$1"; return 1; }; sleep 0.5; done
}
# The image the inspector shows (folder/name), from its title line.
# The inspector's title cuts a long name from the left ("…ratch/001.png · score 0.981 …"): what it shows is
# compared as a suffix of the expected name.
inspected() { screen "$1" | grep -Eo '(│|/|…)[a-z]*/[0-9]{3}\.png · score' | head -1 | grep -Eo '[a-z]*/[0-9]{3}\.png'; }
inspects() { local shown; shown=$(inspected "$1"); [[ ${#shown} -ge 10 && "$2" == *"$shown" ]]; }
# p99 of a model's held-out normal scores as numpy's default (linear) percentile, against config.json.
stored_threshold_is_p99() {
    python3 - "$1" <<'PY'
import json, struct, sys
model = sys.argv[1]
scores = sorted(json.load(open(model + "/normal_scores.json")))
threshold = json.load(open(model + "/config.json"))["threshold"]
rank = 0.99 * (len(scores) - 1)
below = int(rank)
p99 = scores[below] + (scores[min(below + 1, len(scores) - 1)] - scores[below]) * (rank - below)
f32 = lambda v: struct.unpack("f", struct.pack("f", v))[0]
print(f"stored {threshold}, p99 of {len(scores)} normal scores {p99}")
sys.exit(0 if "percentile" in json.dumps(threshold["choice"]) and abs(f32(threshold["value"]) - f32(p99)) <= 1e-6 * p99 else 1)
PY
}

echo "== dataset and model"
python3 Tests/e2e/make_dataset.py "$WORK/data"
"$STPM" train "$WORK/data" --out "$WORK/model" --size 64 --epochs 2 --batch 4 >"$WORK/train.log" 2>&1
check "stpm train wrote a model" "[[ -f $WORK/model/student.safetensors ]]"
"$STPM" train "$WORK/data" --out "$WORK/model-b" --backbone resnet50-1by2 --size 64 --epochs 2 --batch 4 >"$WORK/train-b.log" 2>&1
check "a second model with another teacher (resnet50-1by2)" "[[ -f $WORK/model-b/student.safetensors ]]"

echo "== 120x40, TERM=tmux-256color: triage, threshold, export, training"
S=main
launch $S 120 40 tmux-256color "$WORK/data" --model "$WORK/model" --export-dir "$WORK/export" --size 64 --epochs 60 --batch 4
check "all four panes are drawn" "wait_for $S '⁴threshold' && screen $S | grep -q '¹dataset' && screen $S | grep -q '²training' && screen $S | grep -q '³inspector'"
check "test images are scored" "wait_for $S 'flagged [0-9]+/10'"
check "logged curves of the model are shown" "screen $S | grep -q 'held-out normal: [0-9]'"
top=$(screen $S | grep -Eo '(hole|scratch|good)/[0-9]{3}\.png' | head -1)
second=$(screen $S | grep -Eo '(hole|scratch|good)/[0-9]{3}\.png' | sed -n 2p)
keys $S Enter
check "Enter inspects the top image ($top)" "[[ -n '$top' ]] && wait_for $S '${top: -10} · score' && inspects $S '$top'"
keys $S j
check "j then inspects the second image ($second)" \
    "[[ -n '$second' && '$second' != '$top' ]] && wait_for $S '${second: -10} · score' && inspects $S '$second'"
check "the inspector draws half blocks" "screen $S | grep -q '▀▀▀▀'"
keys $S z
check "z zooms the image to the whole terminal (76x38 cells of half blocks at 120x40)" \
    "wait_for $S '×1 .*z back' && [[ \$(screen $S | grep -cE '▀{76}') -eq 38 ]] && ! screen $S | grep -q '¹dataset'"
[[ -n "${ZOOM_CAPTURE:-}" ]] && screen $S > "$ZOOM_CAPTURE"
keys $S +
check "+ magnifies" "wait_for $S '×1.5 '"
before=$(tm capture-pane -p -e -t $S | md5sum)
keys $S Right
check "→ pans" "[[ \$(tm capture-pane -p -e -t $S | md5sum) != '$before' ]]"
keys $S a
check "a centres the peak anomaly at ×4" "wait_for $S '×4 '"
keys $S z
check "z goes back to the panes" "wait_for $S '¹dataset'"
# Mouse reports as tmux-256color's terminfo has curses expect them (X10: ESC [ M, then button, column
# and row, each plus 32, 1-based); an xterm-256color terminal gets SGR 1006 from the same curses code.
mouse() { tm send-keys -t $S -H 1b 5b 4d "$(printf '%x' $(( $1 + 32 )))" "$(printf '%x' $(( $2 + 33 )))" "$(printf '%x' $(( $3 + 33 )))"; sleep 0.3; }
line=$(screen $S | grep -nE '^│. +(hole|scratch|good)/[0-9]{3}\.png' | sed -n 3p)
y=$(( ${line%%:*} - 1 )); clicked=$(echo "$line" | grep -Eo '(hole|scratch|good)/[0-9]{3}\.png')
below=$(screen $S | sed -n "$(( y + 2 ))p" | grep -Eo '(hole|scratch|good)/[0-9]{3}\.png')
check "the console turns on mouse reports with motion while a button is pressed (1002)" \
    "[[ \$(tm display -p -t $S '#{mouse_button_flag}') == 1 ]]"
mouse 0 5 $y; mouse 3 5 $y
check "a click on the third row of the list opens it ($clicked)" "wait_for $S '${clicked#*/} · score'"
mouse 65 5 $y
keys $S Enter
check "the wheel moves down the list ($below)" "wait_for $S '${below#*/} · score'"
mouse 0 84 18; mouse 3 84 18
low=$(first_number_after $S flagged)
mouse 0 84 18; mouse 32 100 18; mouse 32 117 18; mouse 3 117 18
high=$(first_number_after $S flagged)
check "press then drag in the histogram moves the threshold: flagged $low -> $high" "[[ -n '$low' && -n '$high' && $high -lt $low ]]"
before=$(first_number_after $S flagged)
keys $S ']' ']' ']' ']' ']'
after=$(first_number_after $S flagged)
check "] raises the threshold: flagged $before -> $after" "[[ -n '$before' && -n '$after' && $after -lt $before ]]"
keys $S f
check "f snaps to the F1-optimal threshold" "wait_for $S 'F1-optimal threshold'"
keys $S s
check "s saves the threshold into the model" "wait_for $S 'saved to' && grep -q '\"f1\"' $WORK/model/config.json"
keys $S e
check "e asks before exporting, naming the folder" "wait_for $S 'Export [0-9]+ flagged image' && screen $S | grep -q 'to $WORK/export'"
keys $S y
check "export finishes" "wait_for $S 'Exported [0-9]+ of 10 images'"
"$STPM" export "$WORK/model" "$WORK/data" --out "$WORK/cli-export" --f1 >/dev/null
check "console export writes the same files as stpm export --f1" "ls $WORK/export | grep -q _panel.png && diff -r $WORK/export $WORK/cli-export"
# Escape closes the export report first.
keys $S Escape p
check "p snaps to the percentile of held-out normal scores" "wait_for $S '99th percentile of 2 held-out normal scores'"
keys $S s
check "s then stores p99 of normal_scores.json" "wait_for $S 'saved to' && stored_threshold_is_p99 $WORK/model"
# Recall 1: every defect type shows n/n in the threshold pane.
all_types_caught() { screen $S | grep -Eo '(hole|scratch) [0-9]+/[0-9]+' | awk -F'[ /]' '$2 != $3 { bad = 1 } END { exit bad || NR == 0 }'; }
keys $S Escape r
check "r sets no escapes, says its cost and every type is caught" \
    "wait_for $S 'no escapes: .* flags all [0-9]+ defective images; precision' && all_types_caught && keys $S s && wait_for $S 'saved to' && grep -q 'no-escape' $WORK/model/config.json"
keys $S Escape 2 Enter
check "Enter in the training pane opens the training form" "wait_for $S 'start training' && screen $S | grep -Eq 'epochs +60'"
keys $S Enter
check "training starts from the console" "wait_for $S 'running +epoch' 30"
epoch_shown() { screen $S | grep -Eo 'epoch [0-9]+/60' | head -1 | grep -Eo '[0-9]+' | head -1; }
e1=$(epoch_shown)
# A debug build trains much slower than a release one: wait for the next epoch rather than a fixed time.
e2=$e1
start=$SECONDS
while [[ -n "$e1" && "$e2" == "$e1" ]] && (( SECONDS - start < 90 )); do sleep 1; e2=$(epoch_shown); done
check "the curves grow while training runs (epoch $e1 -> $e2)" "[[ -n '$e1' && -n '$e2' && $e2 -gt $e1 ]]"
keys $S ' '
check "Space pauses training" "wait_for $S 'paused +epoch'"
keys $S Enter
check "Enter resumes it" "wait_for $S 'running +epoch'"
keys $S q
check "q while training asks first" "wait_for $S 'Training is running'"
pressed=$(date +%s.%N)
keys $S y
check "y stops training and quits" "wait_for $S 'console exited 0' 60"
check "the terminal is restored (no alternate screen, cursor shown)" \
    "[[ \$(tm display -p -t $S '#{alternate_on}#{cursor_flag}') == 01 ]]"
# An epoch's end also writes a checkpoint: the stop's own is written after y, at the last logged step.
stop_saved_checkpoint() {
    python3 - "$WORK/model-retrained" "$pressed" <<'PY'
import json, math, os, struct, sys
model, pressed = sys.argv[1], float(sys.argv[2])
with open(model + "/checkpoint.safetensors", "rb") as f:
    meta = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))["__metadata__"]
config = json.load(open(model + "/config.json"))
steps = math.ceil(config["trainImages"] / config["training"]["batchSize"])
logged = sum(1 for line in open(model + "/train_log.jsonl") if line.strip())
position = int(meta["epoch"]) * steps + int(meta["step"])
written = os.path.getmtime(model + "/checkpoint.safetensors")
print(f"checkpoint at epoch {meta['epoch']} step {meta['step']} ({position} steps), {logged} logged, written {written - pressed:+.2f}s after y")
sys.exit(0 if written >= pressed and position == logged else 1)
PY
}
check "the stop saved its checkpoint at the last logged step" stop_saved_checkpoint

echo "== 80x24, TERM=tmux-direct, --train"
S=direct
launch $S 80 24 tmux-direct "$WORK/data" --model "$WORK/fresh" --train --size 64 --epochs 40 --batch 4
# That the legend comes before any point is ConsoleViewTests' job: here a fast first step can beat the capture.
check "--train draws the per-level legend" "wait_for $S 'level1.*level2.*level3'"
check "--train plots the curves as steps finish" "wait_for $S 'running +epoch' 30 && wait_for_points $S 60"
check "direct colour reaches the terminal as RGB" "tm capture-pane -p -e -t $S | grep -Eq '38;2;[0-9]+;[0-9]+;[0-9]+'"
check "hint line fits 80 columns" "screen $S | tail -1 | grep -q 'quit'"
keys $S '?'
check "? opens the help listing the key table" "wait_for $S 'help · q/Esc closes' && screen $S | grep -q 'Next colormap'"
keys $S q C-c
check "Ctrl-C quits even while training" "wait_for $S 'console exited 0' 60"
check "terminal restored after Ctrl-C" "[[ \$(tm display -p -t $S '#{alternate_on}') == 0 ]]"

echo "== 60x20: too small"
S=tiny
launch $S 60 20 tmux-256color "$WORK/data" --model "$WORK/model"
check "a small terminal asks to be enlarged" "wait_for $S 'enlarge the terminal'"
tm resize-window -t $S -x 100 -y 30
check "enlarging it shows the panes" "wait_for $S '¹dataset'"
keys $S q
check "q quits" "wait_for $S 'console exited 0'"

echo "== kitty and sixel images under a pseudo-terminal (bytes decoded)"
check "graphics_pty.py: every check above it passed" "python3 Tests/e2e/graphics_pty.py $STPM $WORK/data $WORK/model $WORK/model-b"

echo "== SGR 1006 mouse reports under a pseudo-terminal (bytes written, effects in files)"
check "mouse_pty.py: every check above it passed" "python3 Tests/e2e/mouse_pty.py $STPM $WORK/data $WORK/model"

echo "== --no-mouse"
S=nomouse
launch $S 100 30 tmux-256color "$WORK/data" --model "$WORK/model" --no-mouse
wait_for $S '¹dataset' >/dev/null
check "--no-mouse leaves the terminal's mouse modes off (its own selection works)" \
    "[[ \$(tm display -p -t $S '#{mouse_standard_flag}#{mouse_button_flag}#{mouse_any_flag}') == 000 ]]"
keys $S q
check "q quits" "wait_for $S 'console exited 0'"
echo "== two models: --model A --model B"
S=two
launch $S 120 40 tmux-256color "$WORK/data" --model "$WORK/model" --model "$WORK/model-b"
# A list row with both models: two verdict marks, the name, A's score, B's score, the label.
both_rows() { screen $S | grep -E '^│[!·* ]{2} (good|hole|scratch)/[0-9]{3}[^ ]* +[0-9.e-]+ +[0-9.e-]+ (ok|NG)│'; }
check "both models score all 10 test images (two flagged counts)" "wait_for $S 'flagged [0-9]+/10' 60 && wait_for $S 'B threshold.*' && \
    for i in \$(seq 100); do [[ \$(screen $S | grep -cE 'flagged [0-9]+/10') -eq 2 ]] && break; sleep 0.3; done; [[ \$(screen $S | grep -cE 'flagged [0-9]+/10') -eq 2 ]]"
check "every test image lists both scores and both verdicts" "[[ \$(both_rows | wc -l) -eq 10 ]]"
a_line=$(screen $S | grep -Eo '▸A threshold [0-9.e-]+')
keys $S M ']' ']' ']' ']' ']' ']' ']' ']' ']' ']' ']' ']'
check "M then ] moves B's threshold only (A's stays: $a_line)" "wait_for $S '▸B threshold' && screen $S | grep -q ' A threshold ${a_line#▸A threshold }' && screen $S | grep -q 'flagged 0/10'"
# A's threshold at p99 of its held-out normal scores (below its test scores), then half way up them:
# A flags some images, B none; they disagree on A's.
keys $S M p ']' ']' ']' ']' ']'
differ=$(both_rows | grep -cE '^│(!·|·!|\*·|\*!)' || true)
flagged_a=$(first_number_after $S flagged)
keys $S 1 D
check "D keeps the $differ images only one model flags (A flags $flagged_a of 10, B none)" \
    "[[ $differ -gt 0 && $differ -lt 10 && $differ -eq $flagged_a ]] && wait_for $S '─ $differ · by score · A≠B' && [[ \$(both_rows | wc -l) -eq $differ ]] && ! both_rows | grep -qE '^│(!!|··)'"
keys $S Enter
check "the inspector shows both models side by side" "wait_for $S 'A model · flagged +B model-b · passed'"
[[ -n "${TWO_MODEL_CAPTURE:-}" ]] && screen $S > "$TWO_MODEL_CAPTURE"
a_config=$(md5sum < "$WORK/model/config.json")
keys $S M s
check "M then s saves B's threshold into B's config.json, A's stays" \
    "wait_for $S 'saved to' && grep -q manual $WORK/model-b/config.json && [[ \$(md5sum < $WORK/model/config.json) == '$a_config' ]]"
keys $S 1 D
check "D again lists all images" "wait_for $S '─ 10 · by score ─'"
keys $S q
check "q quits" "wait_for $S 'console exited 0'"
echo "== the terminal goes away"
S=hangup
launch $S 100 30 tmux-256color "$WORK/data" --model "$WORK/model"
wait_for $S '¹dataset' >/dev/null
console_pid=$(pgrep -P "$(tm display -p -t $S '#{pane_pid}')" | head -1)
tm kill-session -t $S
# Up to 10 s: quitting first lets the scoring threads finish the batch in hand, which takes seconds on a loaded machine.
gone() { for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done; return 1; }
check "closing the terminal ends the console (no spinning on end of input)" "gone $console_pid"

echo "== live view: console --watch"
S=live
mkdir -p "$WORK/line"
launch $S 120 40 tmux-256color --watch "$WORK/line" --model "$WORK/model" --watch-log "$WORK/line.jsonl" --no-bell
check "the live pane shows the watcher's counters" "wait_for $S 'seen 0' 60 && screen $S | grep -q '²live'"
cp "$(ls "$WORK"/data/test/*/*.png | head -1)" "$WORK/line/first.png"
check "an image copied into the watched folder is listed with its score" "wait_for $S 'live/line/first\\.png.*[0-9]\\.[0-9]' 60 && wait_for $S 'seen 1' 20"
keys $S ']' ']'
cp "$(ls "$WORK"/data/test/*/*.png | sed -n 2p)" "$WORK/line/second.png"
raised_for_next() { python3 -c 'import json, sys; t = [json.loads(l)["threshold"] for l in open(sys.argv[1])]; sys.exit(0 if len(t) == 2 and t[1] > t[0] else 1)' "$1"; }
check "] while watching raises the threshold the next image is judged by" "wait_for $S 'seen 2' 60 && raised_for_next $WORK/line.jsonl"
keys $S q
check "q ends the watch and the console" "wait_for $S 'console exited 0' 60 && grep -q first.png $WORK/line.jsonl"

echo "== errors before the screen opens"
check "a missing model is a plain message" "{ TERM=xterm-256color $STPM console $WORK/data --model $WORK/nope 2>&1 </dev/null || true; } | grep -q 'not an stpm model directory'"
check "TERM=dumb is refused in words" "{ TERM=dumb $STPM console $WORK/data --model $WORK/model 2>&1 </dev/null || true; } | grep -q 'cannot move the cursor'"
check "redirected output is refused and gets no escape codes" "{ TERM=xterm-256color $STPM console $WORK/data --model $WORK/model >$WORK/redirected.txt 2>$WORK/redirected.err </dev/null || true; } && grep -q 'needs a terminal' $WORK/redirected.err && [[ ! -s $WORK/redirected.txt ]]"
check "an unknown TERM is a message, not a crash" "{ TERM=no-such-term $STPM console $WORK/data --model $WORK/model 2>&1 </dev/null || true; } | grep -q 'no-such-term'"

if (( failures > 0 )); then echo "$failures check(s) failed"; exit 1; fi
echo "all console end-to-end checks passed in ${SECONDS}s"
