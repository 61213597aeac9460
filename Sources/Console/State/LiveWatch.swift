import Foundation
import Detection

/// What the live view (`stpm console --watch DIR`) shows besides the list: the watcher's counters,
/// the last scores for the strip chart, the newest alarm, and whether the inspector follows the
/// newest flagged image (until the user opens another one; `n` follows again).
public struct LiveWatchStatus: Equatable, Sendable {
    public var folders: [String]
    public var seen = 0, flagged = 0, unreadable = 0
    public var waiting = 0
    public var rate: Double?
    public var lag: Double?
    /// The last `chartLength` scores, oldest first.
    public var recentScores: [Double] = []
    public var chartLength = 120
    public var followNewest = true
    public var alarm: String?
    /// Ring the terminal bell on each flagged image.
    public var bell = false

    public init(folders: [String], bell: Bool = false) {
        self.folders = folders
        self.bell = bell
    }

    mutating func record(score: Double) {
        recentScores.append(score)
        if recentScores.count > chartLength { recentScores.removeFirst(recentScores.count - chartLength) }
    }
}

extension ConsoleState {
    /// Anomaly maps the live view keeps for instant inspection; older images are scored again when opened.
    static let liveMapsKept = 64

    /// A watched image joins the list as the next row id (the app appends its sample to the dataset
    /// with the same id) and the chart. The engine's verdict decides the alarm.
    mutating func watched(_ record: WatchRecord, map: ScalarMap?) -> [ConsoleCommand] {
        guard var live else { return [] }
        let id = rows.count
        let name = "live/" + live.name(of: record.path)
        countInTree(name)
        guard let map, let score = record.score else {
            rows.append(ImageRow(id: id, name: name + " (unreadable)"))
            status = "unreadable: \(record.path)"
            return []
        }
        rows.append(ImageRow(id: id, name: name, score: Double(score)))
        live.record(score: Double(score))
        anomalyMaps[id - Self.liveMapsKept] = nil
        guard record.verdict == .flagged else { self.live = live; scored(id: id, score: score, map: map); return [] }
        live.alarm = "NG \(record.path) \(NumberFormat.short(Double(score)))"
        status = live.alarm
        self.live = live
        scored(id: id, score: score, map: map)
        var commands: [ConsoleCommand] = live.bell ? [.bell] : []
        if live.followNewest { commands.append(.inspect(imageID: id)) }
        return commands
    }

    /// The tree lists each watched folder as a group of "live", so its scope keys work as for a dataset.
    private mutating func countInTree(_ name: String) {
        let folder = name.split(separator: "/").dropFirst().first.map(String.init) ?? ""
        if let i = groups.firstIndex(where: { $0.split == "live" && $0.name == folder }) {
            groups[i].count += 1
        } else {
            groups.append(DatasetGroup(split: "live", name: folder, count: 1))
        }
    }

    mutating func watchStatus(_ s: WatchStatus) {
        live?.seen = s.seen
        live?.flagged = s.flagged
        live?.unreadable = s.unreadable
        live?.waiting = s.waiting
        live?.rate = s.rate
        live?.lag = s.lag
    }
}

extension LiveWatchStatus {
    /// The watched folder's own name, then the path below it.
    func name(of path: String) -> String {
        for folder in folders {
            let root = URL(fileURLWithPath: folder).standardizedFileURL
            let prefix = root.path + "/"
            if path.hasPrefix(prefix) { return root.lastPathComponent + "/" + path.dropFirst(prefix.count) }
        }
        return "other/" + (path as NSString).lastPathComponent
    }
}
