#!/usr/bin/env python3
"""Byte-level test of the console's mouse: runs the real binary under a pseudo-terminal as an xterm
(TERM=xterm-256color, whose terminfo has curses ask for SGR 1006 reports), checks that it turns 1006 on
and off again on quit, writes SGR 1006 reports (ESC [ < button ; column ; row M, m for a release, 1-based)
and checks their effect in files: a click and the wheel in the list select the rows that Space then flags
(the export's report.csv names them), and a press, then a drag, in the threshold histogram put the
threshold at its left, then right, end (s saves it into config.json). With --no-mouse no mouse mode is
turned on at all. tmux's e2e (console.sh) sends X10 reports, as tmux-256color's terminfo expects.

  Tests/e2e/mouse_pty.py STPM DATA MODEL     (DATA from make_dataset.py, MODEL trained on it; MODEL is copied)
Standard library only. Prints ok/FAIL lines like console.sh and exits 1 on a failure.
"""
import csv
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from graphics_pty import COLS, ROWS, Console, check  # noqa: E402
import graphics_pty  # noqa: E402

assert (COLS, ROWS) == (120, 40), "the cell positions below are ConsoleView.layout's at 120x40"
# ConsoleView.layout at 120x40 (0-based cells): the dataset pane's list starts below its six tree lines
# (train/, good, test/, good, hole, scratch) and the list header, at row 8; the threshold pane's content
# is columns 83-118, rows 1-19, its histogram's bars end at row 18 (row 19 is the axis).
LIST_TOP, LIST_X = 8, 5
HIST_LEFT, HIST_RIGHT, HIST_ROW = 83, 118, 17


def sgr(button, x, y, release=False):
    """An SGR 1006 report for the 0-based cell (x, y)."""
    return f"\x1b[<{button};{x + 1};{y + 1}{'m' if release else 'M'}".encode()


def click(c, x, y):
    c.send(sgr(0, x, y), 0.2)
    c.send(sgr(0, x, y, release=True), 0.4)


def mode_changes(out, mode):
    """'h'/'l' for each DEC private mode sequence that sets or resets `mode`, in order."""
    return [m.group(2).decode() for m in re.finditer(rb"\x1b\[\?([0-9;]+)([hl])", out) if str(mode).encode() in m.group(1).split(b";")]


def stored_threshold(model):
    return json.load(open(f"{model}/config.json"))["threshold"]["value"]


def main(stpm, data, model_in):
    work = tempfile.mkdtemp(prefix="stpm-mouse-")
    try:
        model = f"{work}/model"
        shutil.copytree(model_in, model)
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TERM_PROGRAM", "KITTY_WINDOW_ID")}
        env.update(TERM="xterm-256color", LANG="C.UTF-8", STPM_GRAPHICS="blocks")
        c = Console(stpm, data, model, env, options=["--export-dir", f"{work}/export"])
        check("the console starts and scores the test images", c.scored())
        check("it turns on SGR 1006 mouse reports (ESC[?1006...h) and button-motion tracking (1002)",
              mode_changes(c.out, 1006) == ["h"] and mode_changes(c.out, 1002) == ["h"],
              f"1006: {mode_changes(c.out, 1006)}, 1002: {mode_changes(c.out, 1002)}")

        # By name the list is good/000-003, hole/000-002, scratch/000-002 (make_dataset.py).
        c.keys("o")
        click(c, LIST_X, LIST_TOP + 2)   # good/002
        c.keys(" ")
        c.send(sgr(65, LIST_X, LIST_TOP + 5))   # wheel down: good/003
        c.keys(" ")
        c.keys("e")
        c.keys("y")
        report = f"{work}/export/report.csv"
        check("export finishes", c.wait_for(lambda: os.path.exists(report), 90))
        rows = list(csv.DictReader(open(report))) if os.path.exists(report) else []
        manual = sorted(r["path"].split("/test/")[-1] for r in rows if r["manual_flag"].lower() in ("1", "true", "yes"))
        check("a click selects the third row and the wheel the next (Space flagged them): good/002, good/003",
              manual == ["good/002.png", "good/003.png"], f"manually flagged: {manual}")
        # The report is written last, then the console shows what it wrote: Esc closes that once it is up.
        check("the console reports the export", c.wait_for(lambda: b"Exported" in c.out, 30))
        c.keys("\x1b", 0.6)

        scores = [float(r["score"]) for r in rows]
        before = stored_threshold(model)
        lo, hi = min(scores + [before]), max(scores + [before])
        bin_width = (hi - lo) / (HIST_RIGHT - HIST_LEFT + 1)
        slack = 1e-4 * (hi - lo)
        click(c, HIST_LEFT, HIST_ROW)
        c.keys("s")
        check("s saves after a click", c.wait_for(lambda: stored_threshold(model) != before, 20))
        left = stored_threshold(model)
        check(f"a click on the histogram's first column puts the threshold in its first bin [{lo:.6g}, {lo + bin_width:.6g}]",
              lo - slack <= left <= lo + bin_width + slack, f"threshold {left}")
        c.send(sgr(0, HIST_LEFT, HIST_ROW), 0.2)
        for x in range(HIST_LEFT + 5, HIST_RIGHT + 1, 5):
            c.send(sgr(32, x, HIST_ROW), 0.1)   # motion with the button held
        c.send(sgr(32, HIST_RIGHT, HIST_ROW), 0.2)
        c.send(sgr(0, HIST_RIGHT, HIST_ROW, release=True), 0.3)
        c.keys("s")
        check("s saves after a drag", c.wait_for(lambda: stored_threshold(model) != left, 20))
        right = stored_threshold(model)
        check(f"a drag to the last column puts it in the last bin [{hi - bin_width:.6g}, {hi:.6g}]",
              hi - bin_width - slack <= right <= hi + slack, f"threshold {right}")

        c.keys("q")
        code = c.finish()
        check("q quits with status 0", code == 0, f"status {code}")
        check("quitting turns 1006 and 1002 off again", mode_changes(c.out, 1006) == ["h", "l"] and mode_changes(c.out, 1002) == ["h", "l"],
              f"1006: {mode_changes(c.out, 1006)}, 1002: {mode_changes(c.out, 1002)}")

        n = Console(stpm, data, model, env, options=["--no-mouse"])
        n.wait_for(lambda: b"flagged" in n.out, 60)
        n.keys("q")
        code = n.finish()
        modes = {m: mode_changes(n.out, m) for m in (9, 1000, 1002, 1003, 1006)}
        check("--no-mouse turns no mouse mode on (9, 1000, 1002, 1003, 1006)", code == 0 and not any(modes.values()), f"{modes}, status {code}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
    if graphics_pty.failures:
        print(f"{graphics_pty.failures} mouse check(s) failed")
        sys.exit(1)
    print("all mouse checks passed")
