import Foundation
import ImageIO

/// How `stpm watch` (and the console's live view) watch folders.
public struct WatchOptions: Sendable {
    public var folders: [String]
    /// The JSON-lines log; it is also the memory of what was scored, across restarts.
    public var log: String
    /// Flagged images get their panel and a copy of the original here.
    public var flagged: String?
    /// Run for each flagged image with its path and score as arguments.
    public var onFlag: String?
    public var onFlagTimeout: Double = 10
    /// Seconds a file's size and mtime must stay unchanged before it is read.
    public var settle: Double = 0.3
    /// Walk the folders every this many seconds instead of using inotify (network shares).
    public var poll: Double?
    /// Only files modified at or after this moment.
    public var since: Date?
    /// Score what is there (and whatever settles meanwhile), then return.
    public var once = false

    public init(folders: [String], log: String) {
        self.folders = folders
        self.log = log
    }

    /// Where the log goes without --log: in the model's folder when it is writable, else beside the first
    /// watched folder (DIR.watch.jsonl).
    public static func defaultLog(model: String, folders: [String]) -> String {
        if access(model, W_OK) == 0 { return model + "/watch.jsonl" }
        let first = URL(fileURLWithPath: folders[0]).standardizedFileURL
        return first.deletingLastPathComponent().path + "/" + first.lastPathComponent + ".watch.jsonl"
    }
}

public enum WatchEvent {
    /// Watching began: the log already held `logged` images.
    case started(logged: Int, threshold: Threshold, notes: [String])
    case scored(WatchRecord, ImageScore)
    case unreadable(WatchRecord)
    case problem(String)
    case status(WatchStatus)
}

public struct WatchStatus: Sendable {
    /// Images logged by this run (scored or unreadable), flagged among them, unreadable among them.
    public var seen = 0, flagged = 0, unreadable = 0
    /// Files waiting to settle or to be scored.
    public var waiting = 0
    /// Images per second over the last few dozen.
    public var rate: Double?
    /// Seconds from the last image's modification to its log line.
    public var lag: Double?
}

public enum WatchError: Error, CustomStringConvertible {
    case notAFolder(String)

    public var description: String {
        switch self {
        case .notAFolder(let f): "\(f) is not a folder"
        }
    }
}

/// Watches folders and scores every image that appears in them, once: discovery (inotify, polling or a
/// walk), settling (`SettleTracker`), scoring in batches when a backlog forms, the log line (`WatchLog`,
/// fsync'd) and, for a flagged image, its copies and command (`FlagActions`). Memory holds the log's
/// index, the files waiting (at most the tracker's capacity; beyond it the folders are walked again
/// later) and the walk in progress, never a list of all files.
public final class WatchSession {
    public let model: AnomalyModel
    public let options: WatchOptions
    public let log: WatchLog
    private let roots: [String]
    private let source: FolderSource?
    private let scan: TreeScan
    private var tracker: SettleTracker
    private let actions: FlagActions
    private let since: Int64?
    private let lock = NSLock()
    private var liveThreshold: Threshold
    /// A file was turned away while the tracker was full: walk everything again once it has room.
    private var walkAgain = false
    private var status = WatchStatus()
    private var recentTimes: [Double] = []

    /// The threshold images are judged by; another thread (the console) may change it between images.
    public var threshold: Threshold {
        get { lock.withLock { liveThreshold } }
        set { lock.withLock { liveThreshold = newValue } }
    }

    public init(model: AnomalyModel, options: WatchOptions) throws {
        self.model = model
        self.options = options
        roots = options.folders.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        for root in roots {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isFolder), isFolder.boolValue else {
                throw WatchError.notAFolder(root)
            }
        }
        liveThreshold = try ThresholdRule.stored.resolve(ThresholdEvidence(model: model.store, stored: model.config.threshold, normalScores: []))
        var excluded: Set<String> = [URL(fileURLWithPath: options.log).standardizedFileURL.path]
        if let flagged = options.flagged { excluded.insert(URL(fileURLWithPath: flagged).standardizedFileURL.path) }
        // Watches exist before the first walk, so a file arriving during it is reported by one or the other.
        if options.once {
            source = nil
        } else if let period = options.poll {
            source = PollingWatcher(roots: roots, period: period)
        } else {
            source = try FolderWatcher(roots: roots, excluded: excluded)
        }
        log = try WatchLog(path: options.log)
        scan = TreeScan(excluded: excluded)
        for root in roots { scan.add(root) }
        tracker = SettleTracker(settle: options.settle, retryDelay: max(2 * options.settle, 1))
        actions = FlagActions(folder: options.flagged, command: options.onFlag, commandTimeout: options.onFlagTimeout)
        since = options.since.map { Int64(($0.timeIntervalSince1970 * 1e9).rounded(.down)) }
    }

    /// Runs until `shouldStop` (checked between batches and at least five times a second), or in `once`
    /// mode until everything found has been scored. The batch in hand is always finished and logged.
    public func run(shouldStop: () -> Bool, events: (WatchEvent) -> Void) throws {
        events(.started(logged: log.count, threshold: threshold, notes: log.notes))
        var lastStatus = monotonicSeconds()
        while !shouldStop() {
            let now = monotonicSeconds()
            var pulled = 0
            while pulled < 256, !tracker.isFull, let path = scan.next() {
                consider(path, now: now)
                pulled += 1
            }
            if walkAgain && scan.isFinished && tracker.count < tracker.capacity / 2 {
                walkAgain = false
                for root in roots { scan.add(root) }
            }
            let ready = settled(now: now)
            if !ready.isEmpty {
                try score(ready, events: events)
            } else if options.once && scan.isFinished && tracker.isEmpty && !walkAgain {
                break
            } else {
                let busy = !scan.isFinished && !tracker.isFull
                let pause = busy ? 0 : min(0.2, max(0, (tracker.nextDue ?? .infinity) - now))
                if let source {
                    for signal in source.wait(timeout: pause) {
                        switch signal {
                        case .file(let path): consider(path, now: monotonicSeconds())
                        case .walk(let folder): scan.add(folder)
                        case .problem(let message): events(.problem(message))
                        }
                    }
                } else if pause > 0 {
                    usleep(useconds_t(pause * 1e6))
                }
            }
            if monotonicSeconds() - lastStatus >= 2 {
                lastStatus = monotonicSeconds()
                events(.status(currentStatus))
            }
        }
        events(.status(currentStatus))
    }

    public var currentStatus: WatchStatus {
        var s = status
        s.waiting = tracker.count
        if recentTimes.count >= 2, let first = recentTimes.first, let last = recentTimes.last, last > first {
            s.rate = Double(recentTimes.count - 1) / (last - first)
        }
        return s
    }

    private func consider(_ path: String, now: Double) {
        guard ImageReader.hasImageExtension(path), let state = fileState(path) else { return }
        if let since, state.mtimeNs < since { return }
        guard !log.contains(path: path, file: state) else { return }
        guard !tracker.isFull || tracker.contains(path) else {
            walkAgain = true
            return
        }
        tracker.observe(path, state, now: now)
    }

    /// Due files that are unchanged since they were seen, at most one batch.
    private func settled(now: Double) -> [(path: String, state: FileState)] {
        var ready: [(path: String, state: FileState)] = []
        for path in tracker.due(now: now, limit: 4 * model.batchSize) where ready.count < model.batchSize {
            let current = fileState(path)
            if tracker.confirm(path, current: current, now: now), let current { ready.append((path, current)) }
        }
        return ready
    }

    private func score(_ ready: [(path: String, state: FileState)], events: (WatchEvent) -> Void) throws {
        var loaded: [(path: String, state: FileState, image: Image8, width: Int, height: Int)] = []
        for item in ready {
            do {
                let source = try ImagePreparation.loadSource(item.path)
                loaded.append((item.path, item.state, ImagePreparation.resized(source, size: model.size), source.width, source.height))
            } catch {
                guard tracker.failedToDecode(item.path, now: monotonicSeconds()) else { continue }
                let record = try append(path: item.path, state: item.state, score: nil, verdict: .unreadable, error: "\(error)")
                status.unreadable += 1
                events(.unreadable(record))
            }
        }
        guard !loaded.isEmpty else { return }
        let (maps, scores) = model.score(loaded.map(\.image))
        let threshold = self.threshold
        for (k, item) in loaded.enumerated() {
            let flagged = threshold.flags(scores[k])
            var copyError: String?
            var hookError: String?
            if flagged {
                do {
                    try actions.copy(path: item.path, name: flaggedName(item.path), image: item.image, map: maps[k],
                                     score: scores[k], threshold: threshold.value)
                } catch { copyError = "flagged copies: \(error)" }
                hookError = actions.run(path: item.path, score: scores[k])
            }
            let record = try append(path: item.path, state: item.state, score: scores[k], threshold: threshold.value,
                                    verdict: flagged ? .flagged : .ok, error: copyError, hook: hookError)
            if flagged { status.flagged += 1 }
            events(.scored(record, ImageScore(image: item.image, map: maps[k], score: scores[k],
                                              sourceWidth: item.width, sourceHeight: item.height)))
        }
    }

    private func append(path: String, state: FileState, score: Float?, threshold: Float? = nil,
                        verdict: WatchRecord.Verdict, error: String? = nil, hook: String? = nil) throws -> WatchRecord {
        let wall = Date().timeIntervalSince1970
        let record = WatchRecord(path: path, size: state.size, mtime: isoTime(nanoseconds: state.mtimeNs), mtimeNs: state.mtimeNs,
                                 score: score, threshold: threshold, verdict: verdict, error: error, hook: hook,
                                 time: isoTime(nanoseconds: Int64(wall * 1e9)),
                                 lag: max(0, (wall - Double(state.mtimeNs) / 1e9) * 1000).rounded() / 1000)
        try log.append(record)
        tracker.finish(path)
        status.seen += 1
        status.lag = record.lag
        recentTimes.append(monotonicSeconds())
        if recentTimes.count > 32 { recentTimes.removeFirst() }
        return record
    }

    /// The image's path below its watched folder with "/" as "_", prefixed with that folder's name when
    /// several are watched (their files may share names).
    private func flaggedName(_ path: String) -> String {
        guard let root = roots.filter({ path.hasPrefix($0 + "/") }).max(by: { $0.count < $1.count }) else {
            return (path as NSString).lastPathComponent
        }
        let relative = path.dropFirst(root.count + 1).replacingOccurrences(of: "/", with: "_")
        return roots.count > 1 ? (root as NSString).lastPathComponent + "_" + relative : relative
    }
}

/// Size and mtime of a regular file (symbolic links followed), nil for anything else or a vanished file.
func fileState(_ path: String) -> FileState? {
    var info = stat()
    guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    return FileState(size: Int64(info.st_size), mtimeNs: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
}
