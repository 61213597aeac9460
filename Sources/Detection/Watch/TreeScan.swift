import Foundation

/// A walk over folders, recursively, that hands out one path at a time and can be paused between any
/// two, so a folder with any number of files is visited without holding its listing. Hidden entries
/// (".name", such as a writer's temporary file) and `excluded` folders are not entered.
final class TreeScan {
    private let excluded: Set<String>
    private var queue: [String] = []
    private var walker: FileManager.DirectoryEnumerator?
    private var root = ""

    init(excluded: Set<String>) {
        self.excluded = excluded
    }

    var isFinished: Bool { walker == nil && queue.isEmpty }

    /// Walks `folder` after what is queued (once, if it is already waiting).
    func add(_ folder: String) {
        if !queue.contains(folder) { queue.append(folder) }
    }

    /// The next entry (file or folder: the caller stats it), nil when the walk is done.
    func next() -> String? {
        while true {
            if walker == nil {
                guard !queue.isEmpty else { return nil }
                root = queue.removeFirst()
                walker = FileManager.default.enumerator(atPath: root)
            }
            guard let relative = walker?.nextObject() as? String else {
                walker = nil
                continue
            }
            let path = root.hasSuffix("/") ? root + relative : root + "/" + relative
            if (relative as NSString).lastPathComponent.hasPrefix(".") || excluded.contains(path) {
                walker?.skipDescendants()
                continue
            }
            return path
        }
    }
}

/// What a watcher reports: a file that was written or moved in, or that the folders must be walked
/// again (a new subfolder, the event queue overflowed, the polling period came round), or a problem to report.
enum WatchSignal: Equatable {
    case file(String)
    case walk(String)
    case problem(String)
}

/// A source of new files. `wait` blocks at most `timeout` seconds (less when a signal arrives).
protocol FolderSource: AnyObject {
    func wait(timeout: Double) -> [WatchSignal]
}

/// For network shares, where inotify sees nothing: every `period` seconds all folders are walked again.
/// What is already in the log costs a stat per file; only new or changed files are scored.
final class PollingWatcher: FolderSource {
    private let roots: [String]
    private let period: Double
    private var next: Double

    init(roots: [String], period: Double) {
        self.roots = roots
        self.period = period
        next = monotonicSeconds() + period
    }

    func wait(timeout: Double) -> [WatchSignal] {
        let now = monotonicSeconds()
        if now < next {
            let pause = min(timeout, next - now)
            if pause > 0 { usleep(useconds_t(pause * 1e6)) }
        }
        guard monotonicSeconds() >= next else { return [] }
        next = monotonicSeconds() + period
        return roots.map { .walk($0) }
    }
}

func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
