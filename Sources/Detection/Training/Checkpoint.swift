import Crypto
import Foundation
import Numerics
import Backbones

/// Everything needed to continue a training run exactly where it stopped: the student's state and
/// momentum buffers, the best student so far, the position in the epoch and the shuffling RNG.
/// Stored as safetensors with a SHA-256 of all tensor data in its metadata, checked on load.
public struct Checkpoint {
    public var epoch: Int
    /// Steps of `epoch` already taken (0 at an epoch boundary).
    public var step: Int
    public var rng: SplitMix64
    /// The current epoch's sample order, needed when resuming mid-epoch.
    public var order: [Int]
    public var bestEpoch: Int?
    public var bestScore: Double?

    static func digest(_ tensors: [NamedTensor]) -> String {
        var h = SHA256()
        for t in tensors {
            h.update(data: Data(t.name.utf8))
            t.values.withUnsafeBytes { h.update(bufferPointer: $0) }
        }
        return h.finalize().hex
    }

    func save(student: FeatureExtractor, best: [NamedTensor], to path: String) throws {
        var tensors = student.stateTensors().map { NamedTensor(name: "student." + $0.name, shape: $0.shape, values: $0.values) }
        for p in student.parameters {
            guard let m = p.momentum, p.momentumStarted else { continue }
            tensors.append(NamedTensor(name: "momentum." + p.name, shape: p.shape, values: Array(UnsafeBufferPointer(start: m, count: p.count))))
        }
        tensors += best.map { NamedTensor(name: "best." + $0.name, shape: $0.shape, values: $0.values) }
        var meta = [
            "epoch": String(epoch), "step": String(step), "rng": String(rng.state),
            "order": order.map(String.init).joined(separator: ","), "checksum": Self.digest(tensors),
        ]
        if let bestEpoch { meta["best_epoch"] = String(bestEpoch) }
        if let bestScore { meta["best_score"] = String(bestScore) }
        try SafetensorsFile.write(tensors, metadata: meta, to: path)
    }

    /// Epochs the checkpoint at `path` has completed, nil without a readable one.
    static func completedEpochs(at path: String) -> Int? {
        guard let file = try? SafetensorsFile(path: path) else { return nil }
        return file.metadata["epoch"].flatMap(Int.init)
    }

    /// Restores the student (state and momentum) and returns the checkpoint with the best state.
    static func load(from path: String, into student: FeatureExtractor) throws -> (Checkpoint, [NamedTensor]) {
        let file = try SafetensorsFile(path: path)
        let m = file.metadata
        func fail(_ why: String) -> TrainingError { .checkpoint("\(path): \(why); delete it to start over") }
        var tensors: [NamedTensor] = []
        for name in file.names { tensors.append(NamedTensor(name: name, shape: file.shape(name) ?? [], values: try file.floats(name))) }
        guard m["checksum"] == digest(tensors) else { throw fail("checksum mismatch (the file is damaged)") }
        guard let epoch = m["epoch"].flatMap(Int.init), let step = m["step"].flatMap(Int.init),
              let rng = m["rng"].flatMap(UInt64.init) else { throw fail("metadata incomplete") }
        let order = (m["order"] ?? "").split(separator: ",").compactMap { Int($0) }
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for p in student.state {
            guard let t = byName["student." + p.name], t.values.count == p.count else { throw fail("no student tensor \(p.name)") }
            p.values = t.values
        }
        for p in student.parameters {
            guard let t = byName["momentum." + p.name], t.values.count == p.count else { continue }
            p.enableMomentum()
            p.momentum!.update(from: t.values, count: p.count)
            p.momentumStarted = true
        }
        let best = tensors.filter { $0.name.hasPrefix("best.") }.map { NamedTensor(name: String($0.name.dropFirst(5)), shape: $0.shape, values: $0.values) }
        let cp = Checkpoint(epoch: epoch, step: step, rng: SplitMix64(seed: rng), order: order,
                            bestEpoch: m["best_epoch"].flatMap(Int.init), bestScore: m["best_score"].flatMap(Double.init))
        return (cp, best)
    }
}
