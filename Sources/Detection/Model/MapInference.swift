import Foundation
import Numerics
import Backbones

/// Anomaly maps of a batch: what scoring runs and the benchmark measures.
///
/// One image runs on every thread: the ResNets' stems, which read the same image, first as one convolution
/// (`StemPair`), then teacher and student side by side, each network on its share of the threads, so both
/// cores stay busy on whole layers without the splitting, waking and idle tails of per-layer parallel loops.
///
/// Several images run in lanes, one image per lane at a time, each lane with networks of its own (replicas
/// sharing the weights' values) and its share of the threads: a lane never waits for another before the
/// batch ends, where the side-by-side networks meet at every image and again in the map's passes. The
/// images' own preparation (`maps(count:prepare:)`: a file decoded and resized) runs in the lane too, on
/// the same cores, between two images, rather than on threads the scheduler slips in between the networks.
/// Images go through one at a time: a single image's activations stay in the caches, where a batch's
/// expanded tensors (tens of MB per layer) would stream through memory.
final class MapInference {
    /// Two lanes at most: each holds replicas of the two networks, weights and buffers (resnet50-1by2 at 256 px:
    /// 110 MB), and more threads go to each lane's networks, which split them as a single image's do.
    static let maxLanes = 2

    private let size: Int
    private var lanes: [Lane]

    init(teacher: FeatureExtractor, student: FeatureExtractor, size: Int) {
        self.size = size
        lanes = [Lane(teacher: teacher, student: student, size: size)]
    }

    var teacher: FeatureExtractor { lanes[0].teacher }
    var student: FeatureExtractor { lanes[0].student }
    /// Lanes built so far: a replica is built once, then kept for the model's later batches.
    var laneCount: Int { lanes.count }

    /// The maps (size x size each, row-major) and scores (map maxima) of a prepared batch.
    func callAsFunction(_ input: Tensor) -> (maps: [[Float]], scores: [Float]) {
        // A batch of one is the image itself (a line camera's): no copy into a lane's tensor.
        if input.n == 1 {
            let (map, score) = lanes[0].run(input)
            return ([map], [score])
        }
        let plane = input.plane, n = input.n
        let results = maps(count: n) { i, image in
            image.resize(c: input.c, n: 1, h: input.h, w: input.w)
            for c in 0..<input.c {
                (image.data + c * plane).update(from: input.data + (c * n + i) * plane, count: plane)
            }
            return true
        }
        return (results.map { $0!.map }, results.map { $0!.score })
    }

    /// The maps and scores of images 0..<count, each written by `prepare(i, tensor)` into a 3 x 1 x size x size
    /// tensor (normalised) just before it runs; nil for an image `prepare` declined (false). Calls to `prepare`
    /// come from several threads at once, each for a different image.
    func maps(count: Int, prepare: (Int, Tensor) -> Bool) -> [(map: [Float], score: Float)?] {
        var results = [(map: [Float], score: Float)?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { slots in
            // Each index is done once, so the threads write disjoint slots.
            nonisolated(unsafe) let slots = slots
            forEachMap(count: count, prepare: prepare) { i, map, score in slots[i] = (map, score) }
        }
        return results
    }

    /// `maps(count:prepare:)`, handing each image's map and score to `done(i, map, score)` on the thread that ran it
    /// instead of keeping them: calls come from several threads at once, each for a different image, in no set order.
    func forEachMap(count: Int, prepare: (Int, Tensor) -> Bool, done: (Int, [Float], Float) -> Void) {
        let laneCount = min(count, Parallelism.threads, Self.maxLanes)
        guard laneCount > 1 else {
            for i in 0..<count where prepare(i, lanes[0].image) {
                let (map, score) = lanes[0].run(lanes[0].image)
                done(i, map, score)
            }
            return
        }
        // A lane missing yet is built by its own thread from lane 0's networks (whose weights no lane writes), while
        // lane 0 already runs the first image: `eval` and `score` would wait for the copy (2.5 ms) before any image.
        let existing = lanes, first = lanes[0]
        var built = [Lane?](repeating: nil, count: laneCount)
        let next = Counter()
        built.withUnsafeMutableBufferPointer { built in
            // Each lane is its own thread's, so the threads write disjoint slots.
            nonisolated(unsafe) let built = built
            Parallelism.split(ways: laneCount) { k in
                let lane = k < existing.count ? existing[k] : first.replica()
                built[k] = lane
                while let i = next.claim(below: count) {
                    guard prepare(i, lane.image) else { continue }
                    let (map, score) = lane.run(lane.image)
                    done(i, map, score)
                }
            }
        }
        lanes += built.dropFirst(existing.count).map { $0! }
    }
}

/// One image at a time through a teacher, a student and the map.
private final class Lane {
    let teacher: FeatureExtractor
    let student: FeatureExtractor
    /// The ResNets' two stems as one, on the lane's threads, before the networks split.
    private let stems: StemPair?
    private let mapper: AnomalyMapper
    private let size: Int
    let image = Tensor(c: 0, n: 0, h: 0, w: 0)

    init(teacher: FeatureExtractor, student: FeatureExtractor, size: Int) {
        self.teacher = teacher
        self.student = student
        self.size = size
        stems = StemPair(teacher, student)
        mapper = AnomalyMapper(height: size, width: size)
    }

    func replica() -> Lane { Lane(teacher: teacher.replica(), student: student.replica(), size: size) }

    func run(_ x: Tensor) -> (map: [Float], score: Float) {
        var t: [Tensor] = [], s: [Tensor] = []
        let stemDone = stems?.forward(x) ?? false
        concurrently({ t = self.teacher.forward(x, stemDone: stemDone) }, { s = self.student.forward(x, stemDone: stemDone) })
        // The teacher's taps are normalised by the map, on the lane's threads.
        let map = mapper.compute(teacher: t, student: s, rawTeacher: true).maps
        return (map, mapper.scores()[0])
    }
}

/// Hands out 0, 1, 2... to whichever thread asks next.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func claim(below end: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < end else { return nil }
        value += 1
        return value - 1
    }
}
