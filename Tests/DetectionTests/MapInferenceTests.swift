import XCTest
import Numerics
import Backbones
import TestSupport
@testable import Detection

/// Several images run in lanes (`MapInference.maps(count:prepare:)`), each lane with replicas of the two
/// networks: every image must get exactly the map it gets alone on one thread, whatever lane ran it.
final class MapInferenceTests: XCTestCase {
    private let size = 64

    private func networks(_ kind: BackboneKind) -> (teacher: FeatureExtractor, student: FeatureExtractor) {
        var rng = SplitMix64(seed: 7)
        let teacher = kind.make(role: .teacher), student = kind.make(role: .frozenStudent)
        randomize(teacher.state, scales: 0.5...1.5, shifts: -0.2...0.2, &rng)
        randomize(student.state, scales: 0.5...1.5, shifts: -0.2...0.2, &rng)
        return (teacher, student)
    }

    private func images(_ count: Int, _ kind: BackboneKind) -> Tensor {
        var rng = SplitMix64(seed: 11)
        let x = Tensor(c: 3, n: count, h: size, w: size)
        for i in 0..<x.count { x.data[i] = rng.uniform(0, 255) }
        kind.normalize(x)
        return x
    }

    private func image(_ i: Int, of x: Tensor, into t: Tensor) {
        t.resize(c: 3, n: 1, h: x.h, w: x.w)
        for c in 0..<3 { (t.data + c * x.plane).update(from: x.data + (c * x.n + i) * x.plane, count: x.plane) }
    }

    private func withThreads<T>(_ n: Int, _ body: () -> T) -> T {
        let saved = Parallelism.threads
        Parallelism.set(n)
        defer { Parallelism.set(saved) }
        return body()
    }

    /// Each image alone, on one thread: the reference.
    private func alone(_ kind: BackboneKind, _ x: Tensor) -> [(map: [Float], score: Float)] {
        let (teacher, student) = networks(kind)
        let inference = MapInference(teacher: teacher, student: student, size: size)
        let one = Tensor(c: 0, n: 0, h: 0, w: 0)
        return withThreads(1) {
            (0..<x.n).map { i in
                image(i, of: x, into: one)
                let (maps, scores) = inference(one)
                return (maps[0], scores[0])
            }
        }
    }

    func testLanesGiveEachImageItsOwnMapBitForBit() {
        for kind in BackboneKind.allCases {
            let x = images(5, kind)
            let expected = alone(kind, x)
            let (teacher, student) = networks(kind)
            let inference = MapInference(teacher: teacher, student: student, size: size)
            // 2 threads: a lane per thread; 4: two lanes of two threads, each splitting teacher and student; 3: lanes of 1 and 2.
            for (threads, count) in [(2, 5), (4, 5), (3, 3)] {
                let prepared = PrepareLog()
                let results = withThreads(threads) {
                    inference.maps(count: count) { i, t in
                        prepared.add(i)
                        guard i != 1 else { return false }
                        image(i, of: x, into: t)
                        return true
                    }
                }
                XCTAssertEqual(prepared.sorted, Array(0..<count), "\(kind) \(threads) threads: each image prepared once")
                XCTAssertEqual(inference.laneCount, 2, "\(kind) \(threads) threads: the second lane, built by its thread, is kept")
                XCTAssertNil(results[1], "\(kind): a declined image has no map")
                for i in 0..<count where i != 1 {
                    XCTAssertTrue(results[i]?.map == expected[i].map, "\(kind) \(threads) threads, image \(i): another map")
                    XCTAssertEqual(results[i]?.score, expected[i].score, "\(kind) \(threads) threads, image \(i)")
                }
            }
            // A prepared batch goes the same way.
            let batch = withThreads(2) { inference(x) }
            XCTAssertTrue(batch.maps == expected.map(\.map), "\(kind) batch: other maps")
            XCTAssertEqual(batch.scores, expected.map(\.score), "\(kind) batch")
        }
    }

    /// A replica computes what its original does, in buffers of its own.
    func testReplicaHasTheWeightsAndItsOwnBuffers() {
        let (teacher, _) = networks(.efficientnetLite0)
        let copy = teacher.replica()
        let x = images(2, .efficientnetLite0)
        let a = Tensor(c: 0, n: 0, h: 0, w: 0), b = Tensor(c: 0, n: 0, h: 0, w: 0)
        image(0, of: x, into: a)
        image(1, of: x, into: b)
        let original = teacher.forward(a).map { Array(UnsafeBufferPointer(start: $0.data, count: $0.count)) }
        let replicated = copy.forward(a).map { Array(UnsafeBufferPointer(start: $0.data, count: $0.count)) }
        XCTAssertTrue(original == replicated, "the replica's taps differ")
        _ = copy.forward(b)
        let after = teacher.taps.map { Array(UnsafeBufferPointer(start: $0.data, count: $0.count)) }
        XCTAssertTrue(after == original, "running the replica changed the original's taps")
    }
}

private final class PrepareLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []
    func add(_ i: Int) { lock.lock(); items.append(i); lock.unlock() }
    var sorted: [Int] { lock.lock(); defer { lock.unlock() }; return items.sorted() }
}
