import CNCursesW
import Foundation

public enum ScreenError: Error, CustomStringConvertible {
    case unknownTerminal(String)
    case noCursorAddressing(String)
    case notATerminal(String)

    public var description: String {
        switch self {
        case .unknownTerminal(let t):
            return "cannot use terminal type \"\(t)\" (no terminfo entry); set TERM, e.g. TERM=xterm-256color"
        case .noCursorAddressing(let t):
            return "terminal type \"\(t)\" cannot move the cursor, which the full-screen console needs; run it in a terminal "
                + "emulator with TERM set (e.g. TERM=xterm-256color), or use the command-line tools (stpm score, eval, export)"
        case .notATerminal(let which):
            return "stpm console needs a terminal, but its \(which) is redirected (a file or a pipe); run it in a terminal, "
                + "or use the command-line tools (stpm score, eval, export) for scripts"
        }
    }
}

/// Flags set from signal handlers and read by the key loop; plain stores only.
private enum ScreenSignals {
    nonisolated(unsafe) static var interrupted: Int32 = 0
    nonisolated(unsafe) static var active: Int32 = 0
}

/// The only code that talks to ncurses. It copies `CellGrid` frames to the terminal and
/// turns key codes into `Key`s; everything it draws was decided by `ConsoleView`.
public final class Screen {
    private let screen: OpaquePointer
    private let window: UnsafeMutablePointer<WINDOW>
    private let output: UnsafeMutablePointer<FILE>
    private let mouse: Bool
    public let depth: ColorDepth
    private var shown: CellGrid?
    private var pairs: [PairKey: Int32] = [:]
    private var failedReads = 0

    private struct PairKey: Hashable { let fg: TerminalColor, bg: TerminalColor }

    /// Starts curses on `output`/`input` (stdout/stdin by default). `newterm` is used rather
    /// than `initscr` because `initscr` exits the process on an unknown TERM.
    /// `maximumDepth` caps colours (e.g. `--ascii` passes `.monochrome`).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                output: UnsafeMutablePointer<FILE> = stdout, input: UnsafeMutablePointer<FILE> = stdin,
                maximumDepth: ColorDepth = .direct, mouse: Bool = true, keyTimeoutMilliseconds: Int32 = 80) throws {
        setlocale(LC_ALL, "")
        let term = environment["TERM"] ?? ""
        switch term.withCString({ stpm_terminal_support($0) }) {
        case 1: throw ScreenError.unknownTerminal(term)
        case 2: throw ScreenError.noCursorAddressing(term)
        default: break
        }
        for (file, which) in [(input, "input"), (output, "output")] where isatty(fileno(file)) == 0 {
            throw ScreenError.notATerminal(which)
        }
        // A terminal that claims 24-bit colour under a palette TERM gets the "-direct" entry,
        // since ncurses only emits RGB when terminfo says it can.
        let candidates = (ColorDepth.wantsDirectUpgrade(environment: environment) ? ["xterm-direct"] : []) + [term]
        guard let s = candidates.lazy.compactMap({ name in name.withCString { newterm($0, output, input) } }).first else {
            throw ScreenError.unknownTerminal(term)
        }
        screen = s
        self.output = output
        set_term(s)
        window = stpm_stdscr()
        cbreak(); noecho(); nonl()
        keypad(window, true)
        curs_set(0)
        set_escdelay(25)
        wtimeout(window, keyTimeoutMilliseconds)
        _ = "\u{1b}[Z".withCString { define_key($0, KEY_BTAB) }
        var colors: Int32 = 0
        if has_colors() {
            start_color()
            use_default_colors()
            colors = stpm_colors()
        }
        let detected = ColorDepth.detect(environment: environment, cursesColors: Int(colors))
        let all = ColorDepth.allCases
        depth = all[max(all.firstIndex(of: detected)!, all.firstIndex(of: maximumDepth)!)]
        Screen.installExitHandlers()
        ScreenSignals.active = 1
        self.mouse = mouse
        if mouse {
            // Presses and releases as they happen (no click timing), and with 1002 motion while a
            // button is held, for dragging the threshold; curses decodes X10 or SGR 1006 per terminfo.
            mouseinterval(0)
            mousemask(stpm_mouse_events(), nil)
            writeRaw(Array("\u{1B}[?1002h".utf8))
        }
    }

    deinit { close() }

    /// Restores the terminal. Safe to call more than once; also runs at exit.
    public func close() {
        guard ScreenSignals.active == 1 else { return }
        ScreenSignals.active = 0
        if mouse { writeRaw(Array("\u{1B}[?1002l".utf8)) }
        endwin()
        delscreen(screen)
    }

    private static func installExitHandlers() {
        signal(SIGINT) { _ in ScreenSignals.interrupted = 1 }
        signal(SIGTERM) { _ in ScreenSignals.interrupted = 1 }
        // The terminal went away (window closed, ssh dropped): quit rather than read end-of-file forever.
        signal(SIGHUP) { _ in ScreenSignals.interrupted = 1 }
        atexit { if ScreenSignals.active == 1 { endwin() } }
    }

    public var size: (width: Int, height: Int) {
        var y: Int32 = 0, x: Int32 = 0
        stpm_getmaxyx(window, &y, &x)
        return (Int(x), Int(y))
    }

    /// Draws the cells that differ from the last frame (all of them after a resize).
    public func draw(_ grid: CellGrid) {
        let full = shown.map { $0.width != grid.width || $0.height != grid.height } ?? true
        if full { werase(window) }
        for y in 0..<grid.height {
            for x in 0..<grid.width {
                let cell = grid[x, y]
                if cell.isWideTail || (!full && shown![x, y] == cell) { continue }
                put(cell, x: x, y: y)
            }
        }
        shown = grid
        wnoutrefresh(window)
        doupdate()
    }

    /// Forgets the last frame so the next `draw` repaints everything (e.g. after Ctrl-L).
    public func invalidate() { shown = nil }

    /// The terminal bell (or a flash where the terminal has none).
    public func bell() { beep() }

    /// Writes the lines of `rects` again although their cells did not change: what a graphics protocol
    /// drew over them is then gone.
    public func repaint(_ rects: [Rect]) {
        guard !rects.isEmpty else { return }
        for r in rects { wredrawln(window, Int32(r.y), Int32(r.height)) }
        wnoutrefresh(window)
        doupdate()
    }

    /// Bytes for the terminal itself (graphics protocols), after what curses has buffered.
    public func writeRaw(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        fflush(output)
        let fd = fileno(output)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }

    private func put(_ cell: Cell, x: Int, y: Int) {
        var pair = pairNumber(fg: depth.quantize(cell.style.fg), bg: depth.quantize(cell.style.bg))
        var text = cell.character.unicodeScalars.map { wchar_t(bitPattern: $0.value) } + [0]
        var cc = cchar_t()
        setcchar(&cc, &text, attributes(cell.style.attributes), 0, &pair)
        mvwadd_wch(window, Int32(y), Int32(x), &cc)
    }

    /// `alloc_pair` gives extended pair numbers beyond 256; when the pair table is full or a
    /// colour is out of range it returns -1, and the cell falls back to the default pair.
    private func pairNumber(fg: TerminalColor, bg: TerminalColor) -> Int32 {
        if depth == .monochrome { return 0 }
        let key = PairKey(fg: fg, bg: bg)
        if let p = pairs[key] { return p }
        let p = max(0, alloc_pair(colorNumber(fg), colorNumber(bg)))
        pairs[key] = p
        return p
    }

    /// Under a direct-colour terminfo entry colour numbers are packed RGB, not palette indices.
    private func colorNumber(_ c: TerminalColor) -> Int32 {
        switch c {
        case .terminalDefault: return -1
        case .index(let i): return Int32(i)
        case .rgb(let v): return Int32(v.r) << 16 | Int32(v.g) << 8 | Int32(v.b)
        }
    }

    private func attributes(_ a: CellAttributes) -> attr_t {
        var r = stpm_a_normal()
        if a.contains(.bold) { r |= stpm_a_bold() }
        if a.contains(.underline) { r |= stpm_a_underline() }
        if a.contains(.reverse) { r |= stpm_a_reverse() }
        if a.contains(.dim) { r |= stpm_a_dim() }
        return r
    }

    /// Waits up to the key timeout; nil means no key, so the caller can redraw live data.
    public func readKey() -> Key? {
        if ScreenSignals.interrupted != 0 { ScreenSignals.interrupted = 0; return .ctrlC }
        var ch: wint_t = 0
        let started = DispatchTime.now().uptimeNanoseconds
        let r = wget_wch(window, &ch)
        if r == ERR {
            if ScreenSignals.interrupted != 0 { return readKey() }
            // A read that fails at once rather than after the key timeout is end of input (the terminal
            // closed): many in a row quit, where looping would spin at 100 % CPU.
            let fast = DispatchTime.now().uptimeNanoseconds - started < 2_000_000
            failedReads = fast ? failedReads + 1 : 0
            return failedReads >= 100 ? .ctrlC : nil
        }
        failedReads = 0
        let code = Int32(bitPattern: ch)
        if r == KEY_CODE_YES {
            if code == KEY_RESIZE { shown = nil; return .resize }
            if code == KEY_MOUSE { return mouseEvent() }
            return Self.functionKeys[code] ?? (1...12).first { stpm_key_f($0) == code }.map { .function(Int($0)) }
        }
        switch code {
        case 3: return .ctrlC
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        default: return Unicode.Scalar(UInt32(ch)).map { .char(Character($0)) }
        }
    }

    private func mouseEvent() -> Key? {
        var event = MEVENT()
        guard getmouse(&event) == OK else { return nil }
        let b = event.bstate
        let kind: MouseEvent.Kind? = b & stpm_button4_pressed() != 0 ? .wheelUp : b & stpm_button5_pressed() != 0 ? .wheelDown
            : b & stpm_button1_pressed() != 0 ? .press : b & stpm_button1_released() != 0 ? .release
            : b & stpm_mouse_motion() != 0 ? .drag : nil
        return kind.map { .mouse(MouseEvent($0, x: Int(event.x), y: Int(event.y))) }
    }

    private static let functionKeys: [Int32: Key] = [
        KEY_UP: .up, KEY_DOWN: .down, KEY_LEFT: .left, KEY_RIGHT: .right,
        KEY_NPAGE: .pageDown, KEY_PPAGE: .pageUp, KEY_HOME: .home, KEY_END: .end,
        KEY_BTAB: .backTab, KEY_ENTER: .enter, KEY_BACKSPACE: .backspace,
    ]
}
