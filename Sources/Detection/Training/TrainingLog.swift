import Foundation

/// The per-step losses (train_log.jsonl) and per-epoch validation (validation.jsonl) of a run, as
/// JSON lines. This file writes them and is their only reader (`read`, for a face re-opening a
/// model; plotting scripts read the same keys). On resume, lines past the checkpoint are dropped
/// so the logs describe exactly the run that continues.
final class TrainingLog {
    let store: ModelStore
    private var pending = ""

    /// One line of train_log.jsonl.
    struct StepLine: Decodable {
        /// 1-based, as `step`.
        var epoch: Int
        var step: Int
        /// 0-based across epochs.
        var globalStep: Int
        var loss: [Double]

        enum CodingKeys: String, CodingKey { case epoch, step, globalStep = "global_step", loss }
    }

    /// One line of validation.jsonl.
    struct EpochLine: Decodable {
        var epoch: Int
        var validationMeanScore: Double?
        var best: Bool
        var seconds: Double

        enum CodingKeys: String, CodingKey { case epoch, validationMeanScore = "validation_mean_score", best, seconds }
    }

    init(store: ModelStore, keepSteps: Int, keepEpochs: Int) throws {
        self.store = store
        try Self.truncate(store.trainLogFile, as: StepLine.self) { $0.globalStep < keepSteps }
        try Self.truncate(store.validationFile, as: EpochLine.self) { $0.epoch <= keepEpochs }
    }

    /// Keeps the lines that read as `Line` and satisfy `keep`, byte for byte.
    static func truncate<Line: Decodable>(_ path: String, as: Line.Type, keep: (Line) -> Bool) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { decode(Line.self, $0).map(keep) ?? false }
        try writeAtomically(Data(kept.map { $0 + "\n" }.joined().utf8), to: path)
    }

    func step(epoch: Int, step: Int, globalStep: Int, losses: [Double]) throws {
        let l = losses.map { String(format: "%.7g", $0) }.joined(separator: ",")
        pending += "{\"epoch\":\(epoch + 1),\"step\":\(step + 1),\"global_step\":\(globalStep),\"loss\":[\(l)],\"total\":\(String(format: "%.7g", losses.reduce(0, +)))}\n"
        if pending.utf8.count > 4096 { try flush() }
    }

    func epoch(_ s: EpochSummary) throws {
        let score = s.validationScore.map { String(format: "%.9g", $0) } ?? "null"
        try append("{\"epoch\":\(s.epoch),\"validation_mean_score\":\(score),\"best\":\(s.isBest),\"seconds\":\(String(format: "%.2f", s.seconds))}\n",
                   to: store.validationFile)
    }

    func flush() throws {
        guard !pending.isEmpty else { return }
        try append(pending, to: store.trainLogFile)
        pending = ""
    }

    private func append(_ text: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else { throw ModelStoreError.writeFailed(path, "cannot open for appending") }
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: Data(text.utf8))
    }

    /// The steps and epochs the logs in `store` recorded, in file order. Unreadable lines are
    /// skipped: a log cut short by a crash still gives what it has.
    static func read(_ store: ModelStore) -> (steps: [TrainingReplay.Step], epochs: [EpochSummary]) {
        let steps = lines(store.trainLogFile, as: StepLine.self).map {
            TrainingReplay.Step(epoch: $0.epoch - 1, step: $0.step, stepsDone: $0.globalStep + 1, levelLosses: $0.loss)
        }
        let epochs = lines(store.validationFile, as: EpochLine.self).map {
            EpochSummary(epoch: $0.epoch, validationScore: $0.validationMeanScore, isBest: $0.best, seconds: $0.seconds)
        }
        return (steps, epochs)
    }

    private static func lines<Line: Decodable>(_ path: String, as: Line.Type) -> [Line] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { decode(Line.self, $0) }
    }

    private static func decode<Line: Decodable>(_ type: Line.Type, _ line: Substring) -> Line? {
        try? JSONDecoder().decode(Line.self, from: Data(line.utf8))
    }
}

/// A model folder's training as its logs recorded it, for a face that re-opens the folder to
/// redraw the curves. Made by `TrainingSession.replay`.
public struct TrainingReplay: Sendable, Equatable {
    /// One logged step, with the meaning of `TrainingProgress`'s fields.
    public struct Step: Sendable, Equatable {
        /// 0-based.
        public var epoch: Int
        /// Steps of this epoch done.
        public var step: Int
        /// Steps done since the run began: the x of the loss curves.
        public var stepsDone: Int
        public var levelLosses: [Double]

        public init(epoch: Int, step: Int, stepsDone: Int, levelLosses: [Double]) {
            self.epoch = epoch; self.step = step; self.stepsDone = stepsDone; self.levelLosses = levelLosses
        }
    }

    public var steps: [Step] = []
    public var epochs: [EpochSummary] = []
    /// From config.json; nil without a readable one.
    public var plannedEpochs: Int?
    public var stepsPerEpoch: Int?
    public var finished = false

    public init(steps: [Step] = [], epochs: [EpochSummary] = [], plannedEpochs: Int? = nil, stepsPerEpoch: Int? = nil, finished: Bool = false) {
        self.steps = steps; self.epochs = epochs; self.plannedEpochs = plannedEpochs
        self.stepsPerEpoch = stepsPerEpoch; self.finished = finished
    }
}
