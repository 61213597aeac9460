import Foundation
import Detection

/// What the live view (`stpm console --watch DIR`) shows besides the list: the counters, the last
/// scores for the strip chart, the newest alarm, and whether the inspector follows the newest flagged
/// image (until the user opens another one; `n` follows again).
public struct LiveWatchStatus: Equatable, Sendable {
    public var folders: [String]
    /// Images logged since the view opened, by the engine's verdict: exact however many rows are kept.
    public var seen = 0, flagged = 0, unreadable = 0
    /// The list keeps the newest `rowsKept` watched images (the log holds them all), so a session of
    /// days holds bounded memory.
    public var rowsKept = 1000
    /// Watched images now in the list, the newest rows of `ConsoleState.rows`.
    public var listed = 0
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
        let id = nextLiveID
        let name = "live/" + live.name(of: record.path)
        anomalyMaps[id - Self.liveMapsKept] = nil
        countInTree(name, by: 1)
        live.seen += 1
        live.listed += 1
        if live.listed > live.rowsKept {
            let oldest = rows.count - live.listed + 1
            countInTree(rows[oldest].name, by: -1)
            rows.remove(at: oldest)
            live.listed -= 1
        }
        guard let map, let score = record.score else {
            live.unreadable += 1
            self.live = live
            rows.append(ImageRow(id: id, name: name + " (unreadable)"))
            status = "unreadable: \(record.path)"
            return []
        }
        if record.verdict == .flagged { live.flagged += 1 }
        rows.append(ImageRow(id: id, name: name, score: Double(score)))
        live.record(score: Double(score))
        guard record.verdict == .flagged else { self.live = live; scored(id: id, score: score, map: map); return [] }
        live.alarm = "NG \(record.path) \(NumberFormat.short(Double(score)))"
        status = live.alarm
        self.live = live
        scored(id: id, score: score, map: map)
        var commands: [ConsoleCommand] = live.bell ? [.bell] : []
        if live.followNewest { commands.append(.inspect(imageID: id)) }
        return commands
    }

    /// The row id the next watched image gets: rows only ever grow at the end, with rising ids. The app
    /// keeps the image's path under the same id.
    public var nextLiveID: Int { (rows.last?.id ?? -1) + 1 }

    /// The tree lists each watched folder as a group of "live" with the images the list keeps, so its
    /// scope keys work as for a dataset.
    private mutating func countInTree(_ name: String, by step: Int) {
        let folder = name.split(separator: "/").dropFirst().first.map(String.init) ?? ""
        if let i = groups.firstIndex(where: { $0.split == "live" && $0.name == folder }) {
            groups[i].count += step
            if groups[i].count == 0 { groups.remove(at: i) }
        } else {
            groups.append(DatasetGroup(split: "live", name: folder, count: step))
        }
    }

    /// The watcher's own figures; the counts are the view's, from the images it was sent.
    mutating func watchStatus(_ s: WatchStatus) {
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
