import Detection

/// One folder of the dataset tree, e.g. split "test", name "crack".
public struct DatasetGroup: Equatable, Sendable {
    public var split: String
    public var name: String
    public var count: Int

    public init(split: String, name: String, count: Int) {
        self.split = split; self.name = name; self.count = count
    }
}

public enum ImageLabel: Equatable, Sendable {
    case normal, defective, unknown
}

public struct ImageRow: Equatable, Sendable {
    /// Stable identity the engine uses to answer `ConsoleCommand.inspect`.
    public var id: Int
    /// Shown and filtered on, e.g. "test/crack/003.png".
    public var name: String
    public var score: Double?
    /// The second model's score, with `--model A --model B`.
    public var scoreB: Double?
    public var label: ImageLabel
    public var manuallyFlagged: Bool
    /// The test image's folder ("good", "crack"), for recall per defect type; nil for other images.
    public var defectType: String?

    public init(id: Int, name: String, score: Double? = nil, scoreB: Double? = nil, label: ImageLabel = .unknown,
                manuallyFlagged: Bool = false, defectType: String? = nil) {
        self.id = id; self.name = name; self.score = score; self.scoreB = scoreB; self.label = label; self.manuallyFlagged = manuallyFlagged
        self.defectType = defectType
    }

    public func isFlagged(at threshold: Double) -> Bool { isFlagged(by: \.score, at: threshold) }

    /// Flagged by hand, or by the model whose score `model` reads (the engine's rule at `threshold`).
    public func isFlagged(by model: KeyPath<ImageRow, Double?>, at threshold: Double) -> Bool {
        manuallyFlagged || isFlaggedByModel(model, at: threshold)
    }

    /// The model's verdict alone, without the reviewer's manual flag.
    public func isFlaggedByModel(_ model: KeyPath<ImageRow, Double?>, at threshold: Double) -> Bool {
        self[keyPath: model].map { Threshold.flags($0, at: threshold) } ?? false
    }
}

public enum SortOrder: Equatable, Sendable {
    /// Highest score first: the likeliest defects on top.
    case score
    case name
    /// Newest first: the live view's order.
    case arrival

    var title: String {
        switch self {
        case .score: "by score"
        case .name: "by name"
        case .arrival: "newest first"
        }
    }
}

public enum TrainingPhase: Equatable, Sendable {
    case idle, running, paused, finished
    case failed(String)
}

public struct TrainingStatus: Equatable, Sendable {
    public var phase: TrainingPhase = .idle
    public var epoch = 0, totalEpochs = 0
    public var step = 0, totalSteps = 0
    public var imagesPerSecond: Double?
    public var etaSeconds: Double?
    /// Loss per feature-pyramid level (x = step), and their sum.
    public var levelLosses: [[ChartPoint]] = [[], [], []]
    public var totalLoss: [ChartPoint] = []
    /// Mean held-out normal score at the end of each epoch (x = epoch).
    public var heldOutScores: [ChartPoint] = []

    public init() {}
}

/// A threshold value and the rule that gave it.
public struct ThresholdOrigin: Equatable, Sendable {
    public var value: Double
    public var rule: ThresholdRule

    public init(value: Double, rule: ThresholdRule) { self.value = value; self.rule = rule }
}

/// A modal layer drawn over the panes; it takes the keys while open.
public enum Overlay: Equatable, Sendable {
    case help
    case confirm(Confirmation)
    case message(String)
    case trainingForm(TrainingForm)
}

public enum Confirmation: Equatable, Sendable {
    case export(count: Int, destination: String)
    case quitWhileTraining

    var lines: [String] {
        switch self {
        case let .export(n, destination):
            return ["Export \(n) flagged image\(n == 1 ? "" : "s")?", "to \(destination)"]
        case .quitWhileTraining: return ["Training is running. Stop it and quit?", "(its checkpoint is saved)"]
        }
    }
}

/// Requests the console cannot satisfy itself; the app forwards them to the engine and
/// writes the results back into the state.
public enum ConsoleCommand: Equatable, Sendable {
    case inspect(imageID: Int)
    /// Score the test images with the model in `modelPath`; results carry `generation`.
    case score(modelPath: String, generation: Int)
    /// `startTraining` opens the training form; the others steer the running session.
    case startTraining, pauseTraining, resumeTraining, stopTraining
    case beginTraining(TrainingForm)
    /// Store `value` in the model's config.json, recorded as chosen by `rule`.
    case saveThreshold(Double, rule: ThresholdRule)
    /// The live view's watcher judges the images it scores from now on by this threshold.
    case watchThreshold(Double)
    case exportFlagged(imageIDs: [Int])
    /// A flagged image arrived while watching with the bell on.
    case bell
    case quit
}

/// Everything the panes draw, as plain data. The engine fills it; keys change it through
/// `handle(_:)`; panes only read it.
public struct ConsoleState: Equatable, Sendable {
    public var groups: [DatasetGroup] = []
    public var rows: [ImageRow] = [] { didSet { clampSelection() } }
    /// Index into `visibleRows`.
    public var selected = 0
    /// With two models: the list keeps only the images one model flags and the other passes.
    public var disagreementsOnly = false { didSet { clampSelection() } }
    /// Name prefix of the tree entry whose images the list shows: "test/", "test/crack/", or "" for all.
    public var scope = "" { didSet { clampSelection() } }
    public var sort: SortOrder = .score { didSet { clampSelection() } }
    public var filter = "" { didSet { clampSelection() } }
    public var isEditingFilter = false

    public var focus: PaneID = .dataset
    public var overlay: Overlay?

    public var training = TrainingStatus()
    /// Set while watching folders (the live view): it takes the training pane's place.
    public var live: LiveWatchStatus?
    public var logScale = true

    /// The model the list is scored with.
    public var modelPath: String?
    /// Which scorer's results count: it grows with every model opened, so a result of a replaced
    /// model (before a finished training) is dropped.
    public var scoringGeneration = 0
    /// Anomaly maps by row id, kept so the inspector opens scored images at once.
    public var anomalyMaps: [Int: ScalarMap] = [:]
    /// The second model of `--model A --model B`; its scores are the rows' `scoreB`.
    public var comparison: ComparedModel?
    /// Which model the threshold keys, the mouse in the histogram and saving act on.
    public var thresholdFocus: ModelSlot = .a

    public var threshold: Double = 0.5
    public var storedThreshold: Double?
    /// The open model's stored threshold with the rule that chose it, as the engine's `.stored` rule reads it.
    public var savedThreshold: Threshold?
    /// How the threshold now in force was chosen, so saving and export record the method.
    public var thresholdOrigin: ThresholdOrigin?
    /// The model's held-out normal scores; the histogram shows them until test images are scored.
    public var heldOutNormalScores: [Double] = []
    /// Where `e` would write; the app picks a fresh folder after every export.
    public var exportDestination = "stpm-export"
    public var exporting = false
    /// Images export draws, for the dialog: scored test images over the threshold, and any image flagged by hand.
    public var exportCount: Int { rows.filter { $0.manuallyFlagged || ($0.label != .unknown && ($0.score.map { $0 >= threshold } ?? false)) }.count }

    /// Scored rows with a label, as the engine's confusion counts and threshold rules read them.
    /// Manual flags are left out: these numbers describe the model, not the reviewer.
    public var labelledScores: [LabelledScore] { labelledScores(of: .a) }

    /// The engine's recall per defect type at the threshold in force, over the scored labelled rows.
    public var recallByType: [TypeRecall] { recallByType(of: .a) }

    public var inspected: InspectorImage?
    public var inspectedID: Int?
    public var inspectorView: InspectorView = .overlay
    /// `z`: the inspected image over the whole terminal.
    public var zoom: Zoom?
    public var showOutlines = true
    /// Anomaly-map values mapped to the colormap's ends.
    public var mapRange: ClosedRange<Float> = 0...1

    public var themeNames: [String] = ["default"]
    public var themeIndex = 0
    public var colormapNames: [String] = ["jet"]
    public var colormapIndex = 0
    public var colorDepth: ColorDepth = .direct
    /// The depth the terminal supports; `d` cycles from it downwards, never above it.
    public var maximumColorDepth: ColorDepth = .direct
    /// Rows the dataset list shows, for PgUp/PgDn; set by the layout each frame.
    public var listPageSize = 10
    /// The terminal's size at the last frame, where mouse positions are looked up.
    public var screenWidth = 0, screenHeight = 0
    /// A one-line note in the hint bar (theme errors, "threshold saved").
    public var status: String?
    public var shouldQuit = false

    public init() {}

    public var visibleRows: [ImageRow] {
        let needle = filter.lowercased()
        let kept = rows.filter { isListed($0, needle: needle) }
        switch sort {
        case .name: return kept.sorted { $0.name < $1.name }
        case .score: return kept.sorted { ($0.score ?? -.infinity, $1.name) > ($1.score ?? -.infinity, $0.name) }
        case .arrival: return kept.sorted { $0.id > $1.id }
        }
    }

    public var selectedRow: ImageRow? {
        let v = visibleRows
        return v.indices.contains(selected) ? v[selected] : nil
    }

    /// Name prefixes of the tree's lines, top to bottom: each split, then its groups.
    public var treeScopes: [String] {
        var out: [String] = []
        for g in groups {
            if !out.contains(g.split + "/") { out.append(g.split + "/") }
            out.append("\(g.split)/\(g.name)/")
        }
        return out
    }

    public var flaggedRows: [ImageRow] { rows.filter { $0.isFlagged(at: threshold) } }

    /// Span of known scores, for threshold steps and the histogram; 0...1 before any scoring.
    public var scoreRange: ClosedRange<Double> { scoreRange(of: .a) }

    /// Called on every change of the rows (each watched image): counting, not sorting, keeps it cheap.
    private mutating func clampSelection() {
        let needle = filter.lowercased()
        var count = rows.count
        if !scope.isEmpty || !needle.isEmpty || disagreementsOnly { count = rows.reduce(0) { $0 + (isListed($1, needle: needle) ? 1 : 0) } }
        selected = min(max(selected, 0), max(count - 1, 0))
    }

    /// In the tree entry shown, matching the filter (`needle`: the filter in lower case) and, with `D`, one a single model flags.
    private func isListed(_ row: ImageRow, needle: String) -> Bool {
        row.name.hasPrefix(scope) && (needle.isEmpty || row.name.lowercased().contains(needle)) && (!disagreementsOnly || disagree(row))
    }
}
