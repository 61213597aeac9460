import ArgumentParser
import Foundation
import Detection

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Score every image that appears in DIR (recursively), as it appears, once.",
        discussion: """
        A file is read once its size and modification time have stayed the same for --settle ms, so a file \
        still being written is never scored half-written; one that still does not decode a second later is \
        logged as unreadable, once. Each image gets one JSON line in the log (path, size, mtime, score, \
        threshold, verdict, time, lag), fsync'd before the next: on restart what the log holds is skipped and \
        what arrived meanwhile is scored, so no image is scored twice or missed. The threshold is the model's \
        stored one (stpm threshold). Ctrl-C or SIGTERM finishes the images in hand and exits 0.
        """)

    @Argument(help: "Model directory (from stpm train).") var model: String
    @Argument(help: "Folders to watch.") var folders: [String]
    @Option(help: "The JSON-lines log (default: MODEL/watch.jsonl, or DIR.watch.jsonl beside DIR when MODEL is read-only).")
    var log: String?
    @Option(help: "Copy each flagged image and its panel (image | heatmap | outlines) into this folder.") var flagged: String?
    @Option(name: .customLong("on-flag"), help: "Command run for each flagged image with its path and score as arguments.")
    var onFlag: String?
    @Option(help: "Milliseconds a file must stay unchanged before it is read.") var settle = 300
    @Option(help: "Walk the folders every SECONDS instead of using inotify (for network shares).") var poll: Double?
    @Option(help: "Only images modified since then: an ISO 8601 time (2026-11-30T08:00:00Z) or an age (90s, 30m, 12h, 2d).")
    var since: String?
    @Flag(help: "Score what is there, then exit.") var once = false
    @OptionGroup var threading: ThreadArguments

    func validate() throws {
        guard settle >= 0 else { throw ValidationError("--settle must be at least 0 ms") }
        if let poll, !(poll > 0) { throw ValidationError("--poll must be a positive number of seconds") }
        if let since, parseSince(since) == nil {
            throw ValidationError("--since \(since): expected an ISO 8601 time such as 2026-11-30T08:00:00Z or an age such as 30m, 12h, 2d")
        }
    }

    func run() throws {
        threading.apply()
        let anomalyModel = try AnomalyModel(path: model)
        var options = WatchOptions(folders: folders, log: log ?? WatchOptions.defaultLog(model: model, folders: folders))
        options.flagged = flagged
        options.onFlag = onFlag
        options.settle = Double(settle) / 1000
        options.poll = poll
        options.since = since.flatMap(parseSince)
        options.once = once
        let session = try WatchSession(model: anomalyModel, options: options)
        SignalFlag.install()
        let report = WatchReport(tty: isatty(STDERR_FILENO) != 0)
        try session.run(shouldStop: { SignalFlag.interrupted }) { report.show($0, log: options.log) }
        report.finish(session.currentStatus, interrupted: SignalFlag.interrupted)
    }
}

/// An ISO 8601 time, or an age before now ("90s", "30m", "12h", "2d").
func parseSince(_ text: String) -> Date? {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    if let unit = text.last.flatMap({ units[$0] }), let amount = Double(text.dropLast()), amount >= 0 {
        return Date(timeIntervalSinceNow: -amount * unit)
    }
    return (try? Date(text, strategy: .iso8601))
        ?? (try? Date(text, strategy: .iso8601.year().month().day().dateSeparator(.dash)))
}

/// One line per image on stdout (score, verdict, lag, path) and the counters on stderr every ten seconds.
final class WatchReport {
    let tty: Bool
    var lastStatus = Date()

    init(tty: Bool) { self.tty = tty }

    func show(_ event: WatchEvent, log: String) {
        switch event {
        case let .started(logged, threshold, notes):
            for note in notes { warn(note) }
            print("watching; threshold \(formatScore(threshold.value)) (\(threshold.methodDescription)); "
                  + "log \(log) holds \(logged) images")
        case let .scored(record, _):
            print(formatScore(record.score ?? 0).padding(toLength: 10, withPad: " ", startingAt: 0) + " "
                  + (record.verdict == .flagged ? "FLAGGED" : "ok     ") + String(format: " %6.2fs ", record.lag) + record.path)
            if let error = record.error { warn("\(record.path): \(error)") }
            if let hook = record.hook { warn("\(record.path): --on-flag command failed: \(hook)") }
        case .unreadable(let record):
            print("-          UNREADABLE " + record.path)
            warn(record.error ?? "unreadable")
        case .problem(let message):
            warn(message)
        case .status(let status):
            guard Date().timeIntervalSince(lastStatus) >= 10 else { return }
            lastStatus = Date()
            FileHandle.standardError.write(Data((line(status) + "\n").utf8))
        }
        fflush(stdout)
    }

    func line(_ s: WatchStatus) -> String {
        "seen \(s.seen)  flagged \(s.flagged)  unreadable \(s.unreadable)  waiting \(s.waiting)"
            + (s.rate.map { String(format: "  %.1f images/s", $0) } ?? "")
            + (s.lag.map { String(format: "  lag %.2f s", $0) } ?? "")
    }

    func finish(_ status: WatchStatus, interrupted: Bool) {
        FileHandle.standardError.write(Data(((interrupted ? "stopped: " : "done: ") + line(status) + "\n").utf8))
    }
}
