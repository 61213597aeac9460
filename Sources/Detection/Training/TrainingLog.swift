import Foundation

/// The per-step losses (train_log.jsonl) and per-epoch validation (validation.jsonl) of a run, as
/// JSON lines that the console and plotting scripts read back. On resume, lines past the
/// checkpoint are dropped so the logs describe exactly the run that continues.
final class TrainingLog {
    let store: ModelStore
    private var pending = ""

    init(store: ModelStore, keepSteps: Int, keepEpochs: Int) throws {
        self.store = store
        try Self.truncate(store.trainLogFile) { line in
            (line["global_step"] as? Int).map { $0 < keepSteps } ?? false
        }
        try Self.truncate(store.validationFile) { line in
            (line["epoch"] as? Int).map { $0 <= keepEpochs } ?? false
        }
    }

    static func truncate(_ path: String, keep: ([String: Any]) -> Bool) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return false }
            return keep(obj)
        }
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
}
