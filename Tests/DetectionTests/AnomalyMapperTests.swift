import XCTest
import Numerics
@testable import Detection

/// The map from raw teacher taps (`rawTeacher`, what scoring passes: the taps normalised as the map reads
/// them, on both threads) against the map from taps `TapNormalizer` normalised first, on one thread: the
/// same floats in every level, upsampled plane, map and score. EfficientNet-Lite0's tap shapes at 256 px,
/// two images, large enough that each level's positions are split across two threads.
final class AnomalyMapperTests: XCTestCase {
    func testRawTeacherOnTwoThreadsGivesTheBitsOfNormalisedTapsOnOne() {
        let saved = Parallelism.threads
        defer { Parallelism.set(saved) }
        var rng = SplitMix64(seed: 5)
        func taps() -> [Tensor] {
            [(24, 64), (40, 32), (112, 16)].map { c, side in
                let t = Tensor(c: c, n: 2, h: side, w: side)
                for i in 0..<t.count { t.data[i] = rng.normal() }
                return t
            }
        }
        let teacher = taps(), student = taps()
        // A position whose teacher norm is zero: the floor, as ChannelNormalize applies it.
        for c in 0..<teacher[1].c { teacher[1].data[c * teacher[1].rowLength + 7] = 0 }
        Parallelism.set(1)
        let expected = AnomalyMapper(height: 256, width: 256)
        let (maps, levels) = expected.compute(teacher: TapNormalizer()(teacher), student: student, keepLevels: true)
        Parallelism.set(2)
        let mapper = AnomalyMapper(height: 256, width: 256)
        let (rawMaps, rawLevels) = mapper.compute(teacher: teacher, student: student, keepLevels: true, rawTeacher: true)
        XCTAssertEqual(levels.count, rawLevels.count)
        for (l, (a, b)) in zip(levels, rawLevels).enumerated() {
            XCTAssert(a.map(\.bitPattern) == b.map(\.bitPattern), "level \(l / 2), \(l % 2 == 0 ? "map" : "upsampled") differs")
        }
        XCTAssert(maps.map(\.bitPattern) == rawMaps.map(\.bitPattern), "the maps differ")
        XCTAssertEqual(mapper.scores(), expected.scores())
    }
}
