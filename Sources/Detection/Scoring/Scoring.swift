import Foundation
import ImageIO
import Numerics

/// One image file as scored by a model: the prepared image (model size, RGB), its anomaly map
/// (size x size, row-major) and its score (the map's maximum).
public struct ImageScore {
    public var image: Image8
    public var map: [Float]
    public var score: Float
    /// The file's own dimensions, before resizing to the model size (a mask must match them).
    public var sourceWidth: Int
    public var sourceHeight: Int
}

extension AnomalyModel {
    /// Scores files in lanes (`MapInference`), each result handed to `each` in the files' order, one call at a time, on any
    /// thread (see the `FileReads` variant). A file that cannot be read, or whose score is NaN or infinite,
    /// is handed to `each` as a failure (the error names the file) and the others are still scored, so one bad PNG in a folder of
    /// thousands does not lose the rest; callers that need every image rethrow it. Files are read ahead on
    /// lowest-priority threads (`ReadAhead`), at most two batches beyond the last one taken; a lane reads
    /// an image no reader has read yet itself.
    public func scoreFiles(_ paths: [String], progress: (Int) -> Void = { _ in },
                           each: (_ index: Int, _ result: Result<ImageScore, Error>) throws -> Void) throws {
        try scoreFiles(paths, alongside: { _, _, _ in () }, progress: progress) { index, result, _ in try each(index, result) }
    }

    /// `scoreFiles`, with `alongside` run by the same read-ahead threads on each file read (its index and
    /// its own dimensions), so that its work (an evaluation's mask) overlaps scoring too; `each` receives its
    /// result with the file's, nil when the file could not be read.
    func scoreFiles<Extra>(_ paths: [String], alongside: @escaping (_ index: Int, _ width: Int, _ height: Int) -> Extra,
                           progress: (Int) -> Void = { _ in },
                           each: (_ index: Int, _ result: Result<ImageScore, Error>, _ extra: Extra?) throws -> Void) throws {
        let reads = FileReads(paths, size: size, batchSize: batchSize, alongside: alongside)
        defer { reads.stop() }
        try scoreFiles(reads, progress: progress, each: each)
    }

    /// `scoreFiles` of files whose reading started already (`FileReads`). The lanes never meet before the last file
    /// (`scoreUnordered`): `each` is called in the files' order, one call at a time, by whichever lane finds the next
    /// result ready, while the other lane scores on, at most four batches beyond the last file handed on (meeting at
    /// the end of every chunk instead, the lane done first waited for the other, then both for the chunk's results to
    /// be handed on from one thread). `each` throwing stops the scoring, and its error is thrown.
    func scoreFiles<Extra>(_ reads: FileReads<Extra>, progress: (Int) -> Void = { _ in },
                           each: (_ index: Int, _ result: Result<ImageScore, Error>, _ extra: Extra?) throws -> Void) throws {
        let order = InOrder<(Result<ImageScore, Error>, Extra?)>(count: reads.paths.count, window: 4 * batchSize)
        func deliver(_ i: Int, _ outcome: (Result<ImageScore, Error>, Extra?)) throws {
            try each(i, outcome.0, outcome.1)
            progress(i + 1)
        }
        scoreUnordered(reads, skip: { order.waitForRoom($0, deliver: deliver) }) { i, result, extra in
            order.put(i, (result, extra), deliver: deliver)
        }
        try order.finish(deliver: deliver)
    }
}

extension AnomalyModel {
    /// Every file of `reads` through the lanes at once (`MapInference.forEachMap`), with no meeting before the last:
    /// `each` runs on the thread that scored the file, for several files at once and in no set
    /// order; a file that could not be read comes with its error. A file for which `skip` is true when its turn comes is
    /// neither read nor scored.
    func scoreUnordered<Extra>(_ reads: FileReads<Extra>, skip: (Int) -> Bool,
                               each: (_ index: Int, _ result: Result<ImageScore, Error>, _ extra: Extra?) -> Void) {
        precondition(reads.size == size, "files read at \(reads.size) px for a model of \(size) px")
        let paths = reads.paths, files = reads.files
        // A file's source image and extra, from its `prepare` to its `done`, both on the thread that scores it.
        var held = [(SourceImage, Extra)?](repeating: nil, count: paths.count)
        held.withUnsafeMutableBufferPointer { held in
            nonisolated(unsafe) let held = held
            inference.forEachMap(count: paths.count, prepare: { i, tensor in
                guard !skip(i) else { return false }
                switch files.take(i) {
                case .failure(let error):
                    each(i, .failure(error), nil)
                    return false
                case .success(let (source, extra)):
                    ImagePreparation.fill(tensor, with: [source.image], kind: config.backbone)
                    held[i] = (source, extra)
                    return true
                }
            }, done: { i, map, score in
                let (source, extra) = held[i]!
                held[i] = nil
                let scored = ImageScore(image: source.image, map: map, score: score, sourceWidth: source.width, sourceHeight: source.height)
                each(i, score.isFinite ? .success(scored) : .failure(ScoringError.nonFiniteScore(paths[i], scored)), extra)
            })
        }
    }
}

/// Results that arrive in any order, handed on in order (`AnomalyModel.scoreFiles`): whichever thread finds the
/// next one ready delivers it and those after it, one thread at a time; the others carry on.
private final class InOrder<Value>: @unchecked Sendable {
    private let lock = NSCondition()
    private var slots: [Value?]
    private let window: Int
    /// The first index not yet delivered.
    private var next = 0
    private var delivering = false
    private var failure: Error?

    init(count: Int, window: Int) {
        slots = Array(repeating: nil, count: count)
        self.window = max(1, window)
    }

    func put(_ i: Int, _ result: Value, deliver: (Int, Value) throws -> Void) {
        lock.lock()
        slots[i] = result
        lock.unlock()
        drain(deliver)
    }

    /// Waits until `i` lies within the window beyond the last delivered result (delivering what is ready meanwhile);
    /// true when a delivery failed, so that `i` need not run.
    func waitForRoom(_ i: Int, deliver: (Int, Value) throws -> Void) -> Bool {
        lock.lock()
        while failure == nil && i >= next + window {
            if !delivering, slots[next] != nil {
                lock.unlock()
                drain(deliver)
                lock.lock()
            } else {
                // Whoever holds `next` puts it, and delivers it, then wakes this thread.
                lock.wait()
            }
        }
        let failed = failure != nil
        lock.unlock()
        return failed
    }

    /// Delivers the rest, once every result has arrived; throws the error a delivery threw.
    func finish(deliver: (Int, Value) throws -> Void) throws {
        drain(deliver)
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        precondition(next == slots.count, "\(slots.count - next) results never arrived")
    }

    private func drain(_ deliver: (Int, Value) throws -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard !delivering else { return }
        delivering = true
        while failure == nil, next < slots.count, let result = slots[next] {
            slots[next] = nil
            lock.unlock()
            do { try deliver(next, result) } catch {
                lock.lock()
                failure = error
                break
            }
            lock.lock()
            next += 1
            lock.broadcast()
        }
        delivering = false
        lock.broadcast()
    }
}

/// Files read ahead of scoring at a model's size, on lowest-priority threads (`ReadAhead`), at most two batches
/// beyond the one being scored, each with `alongside` (run by the same thread on the file's index and its own
/// dimensions). Started before the model's weights load (`AnomalyModel(path:whileLoading:)`), they read the first
/// files meanwhile.
final class FileReads<Extra> {
    let paths: [String]
    let size: Int
    let files: ReadAhead<Result<(SourceImage, Extra), Error>>

    init(_ paths: [String], size: Int, batchSize: Int, alongside: @escaping (_ index: Int, _ width: Int, _ height: Int) -> Extra) {
        self.paths = paths
        self.size = size
        // One thread means one core: the lane then reads each image itself, with no reader beside it.
        let readers = Parallelism.threads > 1 ? Parallelism.threads : 0
        files = ReadAhead(count: paths.count, window: 2 * batchSize, readers: readers) { i in
            Result { () throws -> (SourceImage, Extra) in
                let source = try SourceImage(paths[i], size: size)
                return (source, alongside(i, source.width, source.height))
            }
        }
    }

    /// Lets the readers exit when scoring stops early (or never starts: the model failed to load).
    func stop() { files.stop() }
}

/// A file read as RGB and resized to the model size, with its own dimensions (a mask must match them).
struct SourceImage {
    var image: Image8
    var width: Int
    var height: Int

    init(_ path: String, size: Int) throws {
        let source = try ImagePreparation.loadSource(path)
        image = ImagePreparation.resized(source, size: size)
        width = source.width
        height = source.height
    }
}

/// A labelled test image scored by a model, with its ground truth at model resolution.
public struct ScoredSample: Sendable {
    public var sample: DatasetSample
    public var score: Float
    public var map: [Float]
    /// At model resolution: all false for good images; nil for a defect-folder image whose mask is missing
    /// (pixel truth unknown).
    public var mask: [Bool]?
    /// The label by `GroundTruth`'s rule.
    public var isDefective: Bool

    public var labelled: LabelledScore { LabelledScore(score: score, isDefective: isDefective) }
}

public enum ScoringError: Error, CustomStringConvertible {
    /// The scored image, kept for callers that must still give a verdict (export flags it).
    case nonFiniteScore(String, ImageScore)

    public var description: String {
        switch self {
        case .nonFiniteScore(let path, let s):
            "\(path): the anomaly score is \(s.score), not a number; the model or this image drives the "
                + "network out of range, so no verdict can be trusted (retrain the model if every image does this)"
        }
    }
}

public enum LabelledScoring {
    /// Scores `samples` and reads their ground truth. Stops at the first unreadable image or mask (the error
    /// names the file): metrics and F1 thresholds over a silently reduced set would be misleading.
    /// With `keepNonFinite` an image whose score is NaN or infinite is kept with a NaN score (which every
    /// `Threshold` flags) and reported through `warn`; otherwise it stops the run as well. Masks that are
    /// not pure 0/255 are reported through `warn`.
    public static func score(model: AnomalyModel, samples: [DatasetSample], keepNonFinite: Bool = false,
                             warn: (String) -> Void = { _ in },
                             progress: (Int) -> Void = { _ in }) throws -> [ScoredSample] {
        let reads = reads(of: samples, size: model.size, batchSize: model.batchSize)
        defer { reads.stop() }
        return try score(model: model, samples: samples, reads: reads, keepNonFinite: keepNonFinite, warn: warn, progress: progress)
    }

    /// The reads `score` takes: the samples' images, each with its ground truth read by the same thread.
    static func reads(of samples: [DatasetSample], size: Int, batchSize: Int) -> FileReads<Result<GroundTruth.Truth, Error>> {
        FileReads(samples.map(\.path), size: size, batchSize: batchSize) { i, width, height in
            Result { try GroundTruth.truth(of: samples[i], size: size, imageWidth: width, imageHeight: height) }
        }
    }

    /// `score` of samples whose reading started already (`reads(of:size:batchSize:)`).
    static func score(model: AnomalyModel, samples: [DatasetSample], reads: FileReads<Result<GroundTruth.Truth, Error>>,
                      keepNonFinite: Bool = false, warn: (String) -> Void = { _ in },
                      progress: (Int) -> Void = { _ in }) throws -> [ScoredSample] {
        var result: [ScoredSample] = []
        result.reserveCapacity(samples.count)
        try forEach(model: model, samples: samples, reads: reads, keepNonFinite: keepNonFinite, warn: warn, progress: progress) {
            sample, scored, truth in
            result.append(ScoredSample(sample: sample, score: scored.score, map: scored.map, mask: truth.mask,
                                       isDefective: truth.isDefective))
        }
        return result
    }

    /// `forEach` in lanes that never meet before the last sample (`AnomalyModel.scoreUnordered`): `each` runs on the
    /// thread that scored the sample, for several at once and in no set order, with the sample's index. The warnings and
    /// the failure (the first in the samples' order) come afterwards, as `forEach` gives them up to that failure; samples
    /// after a failed one are left unscored.
    static func forEachUnordered(model: AnomalyModel, samples: [DatasetSample], reads: FileReads<Result<GroundTruth.Truth, Error>>,
                                 warn: (String) -> Void = { _ in }, progress: (Int) -> Void = { _ in },
                                 each: (Int, DatasetSample, ImageScore, GroundTruth.Truth) -> Void) throws {
        let outcomes = UnorderedOutcomes(count: samples.count)
        model.scoreUnordered(reads, skip: outcomes.isAfterFailure) { i, outcome, truth in
            let sample = samples[i]
            do {
                let scored = try outcome.get(), truth = try truth!.get()
                if truth.nonBinary, let mask = sample.maskPath {
                    outcomes.warn(i, "\(mask) is not a pure 0/255 mask; pixels above 127 count as defect (as MVTec AD)")
                }
                each(i, sample, scored, truth)
                outcomes.done(progress)
            } catch {
                outcomes.fail(i, error)
            }
        }
        try outcomes.replay(warn: warn)
    }

    /// `score`, handing each sample, in order, with its scored image and its ground truth to `each` instead of
    /// keeping them (an evaluation keeps its maps in one `MapStore`).
    static func forEach(model: AnomalyModel, samples: [DatasetSample], reads: FileReads<Result<GroundTruth.Truth, Error>>,
                        keepNonFinite: Bool = false, warn: (String) -> Void = { _ in }, progress: (Int) -> Void = { _ in },
                        each: (DatasetSample, ImageScore, GroundTruth.Truth) throws -> Void) throws {
        try model.scoreFiles(reads, progress: progress) { index, outcome, truth in
            let sample = samples[index]
            var scored: ImageScore
            do { scored = try outcome.get() } catch ScoringError.nonFiniteScore(let path, let s) where keepNonFinite {
                warn("\(path): score \(s.score) is not a number; counted as flagged")
                scored = s
                scored.score = .nan
            }
            let truth = try truth!.get()
            if truth.nonBinary, let mask = sample.maskPath {
                warn("\(mask) is not a pure 0/255 mask; pixels above 127 count as defect (as MVTec AD)")
            }
            try each(sample, scored, truth)
        }
    }
}

/// What `LabelledScoring.forEachUnordered` keeps of its samples for afterwards, written from several threads: each
/// sample's warning or error, the lowest failed index, the count done.
private final class UnorderedOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var warnings: [String?]
    private var errors: [Error?]
    private var firstFailure = Int.max
    private var doneCount = 0

    init(count: Int) {
        warnings = Array(repeating: nil, count: count)
        errors = Array(repeating: nil, count: count)
    }

    /// Samples claimed after a failed one need not run; those before it must, as the first failure is reported.
    func isAfterFailure(_ i: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return i > firstFailure
    }

    func warn(_ i: Int, _ text: String) {
        lock.lock()
        warnings[i] = text
        lock.unlock()
    }

    func fail(_ i: Int, _ error: Error) {
        lock.lock()
        errors[i] = error
        firstFailure = min(firstFailure, i)
        lock.unlock()
    }

    /// One more sample done; `progress` gets the count, one call at a time.
    func done(_ progress: (Int) -> Void) {
        lock.lock()
        doneCount += 1
        progress(doneCount)
        lock.unlock()
    }

    /// The warnings in the samples' order up to the first failure, which is then thrown.
    func replay(warn: (String) -> Void) throws {
        for i in warnings.indices {
            if let warning = warnings[i] { warn(warning) }
            if let error = errors[i] { throw error }
        }
    }
}
