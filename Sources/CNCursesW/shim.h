#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <ncursesw/curses.h>
// Macros and globals that Swift 6 cannot import or treats as unsafe shared state.
static inline attr_t stpm_a_bold(void) { return A_BOLD; }
static inline attr_t stpm_a_underline(void) { return A_UNDERLINE; }
static inline attr_t stpm_a_reverse(void) { return A_REVERSE; }
static inline attr_t stpm_a_dim(void) { return A_DIM; }
static inline attr_t stpm_a_normal(void) { return A_NORMAL; }
static inline int stpm_key_f(int n) { return KEY_F(n); }
static inline WINDOW *stpm_stdscr(void) { return stdscr; }
static inline int stpm_lines(void) { return LINES; }
static inline int stpm_cols(void) { return COLS; }
static inline int stpm_colors(void) { return COLORS; }
static inline int stpm_color_pairs(void) { return COLOR_PAIRS; }
static inline void stpm_getmaxyx(WINDOW *w, int *y, int *x) { getmaxyx(w, *y, *x); }
static inline mmask_t stpm_mouse_events(void) { return ALL_MOUSE_EVENTS | REPORT_MOUSE_POSITION; }
static inline mmask_t stpm_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline mmask_t stpm_button1_released(void) { return BUTTON1_RELEASED; }
static inline mmask_t stpm_button4_pressed(void) { return BUTTON4_PRESSED; }
static inline mmask_t stpm_button5_pressed(void) { return BUTTON5_PRESSED; }
static inline mmask_t stpm_mouse_motion(void) { return REPORT_MOUSE_POSITION; }
#include <ncursesw/term.h>
// 0: `term` has a terminfo entry with cursor addressing; 1: no terminfo entry; 2: no cursor addressing
// (TERM=dumb), so a full-screen program cannot draw. Reads terminfo only; writes nothing to the terminal.
static inline int stpm_terminal_support(const char *term) {
    int err = 0;
    if (setupterm((char *)term, -1, &err) != OK) return 1;
    char *cup = tigetstr("cup");
    int ok = cup != NULL && cup != (char *)-1;
    del_curterm(cur_term);
    return ok ? 0 : 2;
}
