/// What stat(2) says about a file: enough to tell that it changed, and the identity the watch log records.
public struct FileState: Equatable, Sendable {
    public var size: Int64
    /// Modification time in nanoseconds since 1970.
    public var mtimeNs: Int64

    public init(size: Int64, mtimeNs: Int64) {
        self.size = size
        self.mtimeNs = mtimeNs
    }
}

/// Files that appeared but are not scored yet. A file is ready once its size and modification time have
/// stayed the same for `settle` seconds, measured between two observations of this process (never against
/// the file's own mtime, which a network share stamps with another machine's clock). A ready file that
/// does not decode gets one more chance after `retryDelay` (a writer that paused longer than `settle`);
/// if it changes meanwhile it is a new version and settles again.
///
/// Times are seconds on any monotonic clock, passed in, so the rules are tested without sleeping.
public struct SettleTracker {
    struct Entry {
        var state: FileState
        var due: Double
        var failures = 0
        var inHand = false
    }

    public let settle: Double
    public let retryDelay: Double
    /// Beyond this many waiting files the tracker is full: callers stop feeding it and look again later,
    /// so a backlog of any size costs memory for at most `capacity` files.
    public let capacity: Int
    private var entries: [String: Entry] = [:]

    public init(settle: Double, retryDelay: Double, capacity: Int = 4096) {
        self.settle = settle
        self.retryDelay = retryDelay
        self.capacity = capacity
    }

    public var count: Int { entries.count }
    public var isFull: Bool { entries.count >= capacity }
    public var isEmpty: Bool { entries.isEmpty }
    public func contains(_ path: String) -> Bool { entries[path] != nil }

    /// The file was seen (an event or a scan) in `state`. Seen again unchanged, it keeps its due time.
    public mutating func observe(_ path: String, _ state: FileState, now: Double) {
        if let entry = entries[path], entry.state == state { return }
        entries[path] = Entry(state: state, due: now + settle)
    }

    /// Waiting files whose time has come, earliest first: the caller stats each and calls `confirm`.
    public func due(now: Double, limit: Int) -> [String] {
        let ripe = entries.filter { !$0.value.inHand && $0.value.due <= now }
        return ripe.sorted { ($0.value.due, $0.key) < ($1.value.due, $1.key) }.prefix(limit).map(\.key)
    }

    /// The earliest due time, for how long the caller may sleep.
    public var nextDue: Double? { entries.values.filter { !$0.inHand }.map(\.due).min() }

    /// The file's state now (nil: it is gone). True when it is unchanged since it was observed, so it is
    /// complete and now in hand; a changed file waits another `settle`, a vanished one is forgotten.
    public mutating func confirm(_ path: String, current: FileState?, now: Double) -> Bool {
        guard var entry = entries[path] else { return false }
        guard let current else {
            entries[path] = nil
            return false
        }
        guard current == entry.state else {
            entries[path] = Entry(state: current, due: now + settle)
            return false
        }
        entry.inHand = true
        entries[path] = entry
        return true
    }

    /// The file in hand was scored (or reported): it leaves the tracker.
    public mutating func finish(_ path: String) {
        entries[path] = nil
    }

    /// The file in hand did not decode. True when it has had its second chance and is to be reported as
    /// unreadable (it then leaves the tracker); false when it waits `retryDelay` and is tried again.
    public mutating func failedToDecode(_ path: String, now: Double) -> Bool {
        guard var entry = entries[path] else { return true }
        guard entry.failures == 0 else {
            entries[path] = nil
            return true
        }
        entry.failures = 1
        entry.inHand = false
        entry.due = now + retryDelay
        entries[path] = entry
        return false
    }
}
