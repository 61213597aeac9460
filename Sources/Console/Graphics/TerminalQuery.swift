import Foundation

/// The protocol and cell size the console draws images with, and why.
public struct GraphicsSetup: Sendable {
    public var graphics: GraphicsProtocol
    public var cell: CellPixels
    /// Chosen explicitly inside tmux: sequences go through tmux's passthrough.
    public var throughTmux: Bool
    public var reason: String

    /// Runs before curses starts, since the terminal's answers arrive on the same input as keys.
    public static func detect(choice: GraphicsProtocol?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GraphicsSetup {
        var reply: [UInt8] = []
        var (graphics, reason): (GraphicsProtocol, String)
        switch try GraphicsDetection.fromEnvironment(choice: choice, environment: environment) {
        case let .decided(p, r): (graphics, reason) = (p, r)
        case .ask:
            reply = TerminalQuery.ask()
            (graphics, reason) = GraphicsDetection.fromReplies(reply)
        }
        var cell = TerminalQuery.windowCellPixels() ?? GraphicsDetection.cellSize(inReply: reply)
        if cell == nil, graphics.drawsPixels, reply.isEmpty { cell = GraphicsDetection.cellSize(inReply: TerminalQuery.ask()) }
        let inTmux = !(environment["TMUX"] ?? "").isEmpty
        return GraphicsSetup(graphics: graphics, cell: cell ?? .fallback, throughTmux: inTmux && graphics.drawsPixels, reason: reason)
    }
}

/// Talks to the terminal directly, before curses owns it.
enum TerminalQuery {
    /// Writes `GraphicsDetection.query` and collects the answers until the final status report arrives or
    /// `budget` seconds pass. Answers that come later would reach curses as keys, so they are discarded.
    static func ask(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO, budget: Double = 0.3) -> [UInt8] {
        guard isatty(input) == 1, isatty(output) == 1 else { return [] }
        var saved = termios()
        guard tcgetattr(input, &saved) == 0 else { return [] }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        guard tcsetattr(input, TCSANOW, &raw) == 0 else { return [] }
        defer { tcsetattr(input, TCSANOW, &saved) }
        let query = GraphicsDetection.query
        guard query.withUnsafeBytes({ write(output, $0.baseAddress, $0.count) }) == query.count else { return [] }
        let deadline = Date().addingTimeInterval(budget)
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !GraphicsDetection.isComplete(reply), reply.count < 65536 {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { break }
            var descriptor = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(left * 1000) + 1) > 0 else { break }
            let count = read(input, &buffer, buffer.count)
            guard count > 0 else { break }
            reply += buffer[..<count]
        }
        if !GraphicsDetection.isComplete(reply) {
            usleep(50_000)
            tcflush(input, TCIFLUSH)
        }
        return reply
    }

    /// The cell size from TIOCGWINSZ's pixel fields, when the terminal fills them in.
    static func windowCellPixels(output: Int32 = STDOUT_FILENO) -> CellPixels? {
        var size = winsize()
        guard ioctl(output, UInt(TIOCGWINSZ), &size) == 0 else { return nil }
        return CellPixels.fromWindowSize(columns: Int(size.ws_col), rows: Int(size.ws_row),
                                         pixelWidth: Int(size.ws_xpixel), pixelHeight: Int(size.ws_ypixel))
    }
}
