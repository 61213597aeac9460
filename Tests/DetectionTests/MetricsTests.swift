import Foundation
import XCTest
import Numerics
@testable import Detection
import TestSupport

final class MetricsReferenceTests: XCTestCase {
    struct Case {
        var maps: [[Float]], masks: [[Bool]], labels: [Bool], regions: [[Int32]], width: Int, height: Int
        var expected: [String: Any], tensors: SafetensorsFile
    }

    func loadCase() throws -> Case {
        let folder = try SharedData.require("reference", "metrics")
        let tensors = try SafetensorsFile(path: folder.appendingPathComponent("expected.safetensors").path)
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("expected.json"))) as! [String: Any]
        let shape = try XCTUnwrap(tensors.shape("maps"))
        XCTAssertEqual(shape, [12, 32, 32])
        let (count, height, width) = (shape[0], shape[1], shape[2])
        func images<T>(_ name: String, _ convert: (Float) -> T) throws -> [[T]] {
            let flat = try tensors.floats(name)
            return (0..<count).map { i in flat[(i * width * height)..<((i + 1) * width * height)].map(convert) }
        }
        return Case(maps: try images("maps") { $0 }, masks: try images("masks") { $0 != 0 },
                    labels: try tensors.floats("labels").map { $0 != 0 }, regions: try images("regions_8conn") { Int32($0) },
                    width: width, height: height, expected: expected, tensors: tensors)
    }

    func testImageAUROCMatchesSklearn() throws {
        let c = try loadCase()
        let scores = c.maps.map { $0.max()! }
        XCTAssertEqual(scores, try c.tensors.floats("image_scores"))
        XCTAssertEqual(imageAUROC(scores: scores, labels: c.labels), c.expected["image_auroc"] as! Double, accuracy: 1e-9)
    }

    func testPixelAUROCMatchesSklearn() throws {
        let c = try loadCase()
        let expected = c.expected["pixel_auroc"] as! Double
        XCTAssertEqual(pixelAUROC(maps: c.maps, masks: c.masks), expected, accuracy: 1e-9)
        XCTAssertEqual(pixelAUROC(maps: c.maps, masks: c.masks.map { $0.map { $0 ? UInt8(255) : 0 } }), expected, accuracy: 1e-9)
    }

    func testRegionsMatchScipyLabelling() throws {
        let c = try loadCase()
        var total = 0
        for (i, mask) in c.masks.enumerated() {
            let components = connectedComponents8(mask: mask, width: c.width, height: c.height)
            XCTAssertEqual(components.labels, c.regions[i], "image \(i)")
            XCTAssertEqual(components.sizes.reduce(0, +), mask.filter { $0 }.count, "image \(i)")
            total += components.count
        }
        XCTAssertEqual(total, c.expected["num_regions"] as! Int)
    }

    func testAUPROMatchesMVTecEvaluation() throws {
        let c = try loadCase()
        let curve = proCurve(maps: c.maps, masks: c.masks, width: c.width, height: c.height)
        XCTAssertEqual(curve.regionCount, c.expected["num_regions"] as! Int)
        XCTAssertEqual(curve.okPixelCount, c.expected["num_ok_pixels"] as! Int)
        XCTAssertEqual(curve.fpr.count, c.expected["num_curve_points"] as! Int)
        XCTAssertEqual(curve.pro.count, curve.fpr.count)

        // MVTec's false-positive rates are float32 quotients, stored exactly: the curve must hold the very same
        // values (a float64 division differs by ~1e-9, which a tolerance would hide). PRO is float64 there,
        // stored rounded to float32.
        let fpr = try c.tensors.floats("pro_curve_fpr"), pro = try c.tensors.floats("pro_curve_pro")
        XCTAssertEqual(fpr.count, curve.fpr.count)
        XCTAssertEqual(curve.fpr, fpr.map(Double.init))
        XCTAssertEqual(curve.pro.map { Float($0) }, pro)

        // expected.json holds the float64 AU-PROs of the official float32-FPR curve.
        XCTAssertEqual(auPRO(curve: curve, fprLimit: 0.3), c.expected["aupro_0_3"] as! Double, accuracy: 1e-10)
        XCTAssertEqual(auPRO(curve: curve, fprLimit: 1.0), c.expected["aupro_1_0"] as! Double, accuracy: 1e-10)
        XCTAssertEqual(auPRO(maps: c.maps, masks: c.masks, width: c.width, height: c.height),
                       c.expected["aupro_0_3"] as! Double, accuracy: 1e-10)
    }
}

final class AUROCTests: XCTestCase {
    func testPerfectSeparationIsOne() {
        XCTAssertEqual(imageAUROC(scores: [0.1, 0.2, 0.8, 0.9], labels: [false, false, true, true]), 1)
    }

    func testInvertedSeparationIsZero() {
        XCTAssertEqual(imageAUROC(scores: [0.9, 0.8, 0.2, 0.1], labels: [false, false, true, true]), 0)
    }

    func testAllTiedIsOneHalf() {
        XCTAssertEqual(imageAUROC(scores: [0.3, 0.3, 0.3, 0.3, 0.3], labels: [true, false, false, true, false]), 0.5)
    }

    func testHandComputedWithTies() {
        // sklearn: positives 0.35 and 0.8 against negatives 0.1 and 0.4 win 3 of 4 pairs.
        XCTAssertEqual(imageAUROC(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true]), 0.75)
        // The positive ties one negative (1/2) and beats the other (1).
        XCTAssertEqual(imageAUROC(scores: [1, 1, 0], labels: [true, false, false]), 0.75)
    }

    func testSignedZerosAreTied() {
        XCTAssertEqual(imageAUROC(scores: [-0.0, 0.0], labels: [true, false]), 0.5)
        XCTAssertEqual(imageAUROC(scores: [0.0, -0.0], labels: [true, false]), 0.5)
    }

    func testNegativeScoresOrderCorrectly() {
        XCTAssertEqual(imageAUROC(scores: [-3, -1, -0.5, 2], labels: [false, false, true, true]), 1)
        XCTAssertEqual(imageAUROC(scores: [-.infinity, .infinity], labels: [false, true]), 1)
    }

    func testSingleClassIsUndefined() {
        XCTAssertTrue(imageAUROC(scores: [0.1, 0.2], labels: [true, true]).isNaN)
    }

    func testPixelAUROCAgreesWithPairCounting() {
        var generator = SplitMix64(seed: 7)
        let maps = (0..<5).map { _ in (0..<36).map { _ in Float(generator.next() % 12) / 4 } }   // coarse values: many ties
        let masks = maps.map { $0.map { $0 + Float(generator.next() % 3) > 2 } }
        let scores = maps.flatMap { $0 }, labels = masks.flatMap { $0 }
        var wins = 0.0, pairs = 0.0
        for (p, isP) in zip(scores, labels) where isP {
            for (n, isN) in zip(scores, labels) where !isN {
                wins += p > n ? 1 : p == n ? 0.5 : 0
                pairs += 1
            }
        }
        XCTAssertEqual(pixelAUROC(maps: maps, masks: masks), wins / pairs, accuracy: 1e-12)
        XCTAssertEqual(pixelAUROC(scores: scores, labels: labels), wins / pairs, accuracy: 1e-12)
    }
}

final class ConnectedComponentsTests: XCTestCase {
    func mask(_ rows: [String]) -> (mask: [Bool], width: Int, height: Int) {
        (rows.joined().map { $0 == "#" }, rows[0].count, rows.count)
    }

    func testDiagonalNeighboursAreOneRegion() {
        let m = mask(["#.",
                      ".#"])
        let c = connectedComponents8(mask: m.mask, width: m.width, height: m.height)
        XCTAssertEqual(c.count, 1)
        XCTAssertEqual(c.labels, [1, 0, 0, 1])
        XCTAssertEqual(c.sizes, [2])
    }

    func testSeparateRegionsNumberedInRasterOrder() {
        let m = mask(["...#",
                      "#...",
                      "#..#",
                      "...#"])
        let c = connectedComponents8(mask: m.mask, width: m.width, height: m.height)
        XCTAssertEqual(c.count, 3)
        XCTAssertEqual(c.labels, [0, 0, 0, 1,
                                  2, 0, 0, 0,
                                  2, 0, 0, 3,
                                  0, 0, 0, 3])
        XCTAssertEqual(c.sizes, [1, 2, 2])
    }

    func testRingWithHoleAndAntiDiagonalAreSingleRegions() {
        let m = mask(["###..",
                      "#.#..",
                      "###..",
                      "...#.",
                      "....#"])
        let c = connectedComponents8(mask: m.mask, width: m.width, height: m.height)
        XCTAssertEqual(c.count, 1)
        XCTAssertEqual(c.sizes, [10])
    }

    func testEmptyMaskHasNoRegion() {
        let c = connectedComponents8(mask: [Bool](repeating: false, count: 6), width: 3, height: 2)
        XCTAssertEqual(c.count, 0)
        XCTAssertEqual(c.labels, [Int32](repeating: 0, count: 6))
    }

    /// The pixel metrics' sparse form lists exactly the labelled pixels of `connectedComponents8`, in raster order:
    /// random masks of several densities and shapes (one row, one column, defects on every border), all-defect
    /// and empty masks.
    func testDefectRegionsListTheLabelledPixelsInRasterOrder() {
        var rng = SplitMix64(seed: 7)
        let shapes = [(1, 1), (1, 17), (17, 1), (2, 2), (5, 3), (16, 16), (31, 9), (64, 48)]
        for (width, height) in shapes {
            for density in [0, 3, 20, 50, 90, 100] {
                let mask = (0..<(width * height)).map { _ in Int(rng.next() % 100) < density }
                let dense = connectedComponents8(mask: mask, width: width, height: height)
                let sparse = DefectRegions(mask: mask, width: width, height: height)
                let labelled = dense.labels.indices.filter { dense.labels[$0] != 0 }
                XCTAssertEqual(sparse.pixels, labelled.map { Int32($0) }, "\(width)x\(height) at \(density) %")
                XCTAssertEqual(sparse.labels, labelled.map { dense.labels[$0] })
                XCTAssertEqual(sparse.count, dense.count)
                XCTAssertEqual(sparse.sizes, dense.sizes)
                XCTAssertEqual(sparse.pixelCount, width * height)
                XCTAssertEqual(labelled.count, mask.filter { $0 }.count, "every defect pixel has a region")
            }
        }
    }
}

final class AUPROTests: XCTestCase {
    func testHandComputedCurve() {
        // Descending: region pixel 0.9 (PRO 1/2), OK 0.5 and 0.2 (FPR 1/2, 1), region pixel 0.1 (PRO 1).
        let curve = proCurve(maps: [[0.9, 0.1, 0.5, 0.2]], masks: [[true, true, false, false]], width: 4, height: 1)
        XCTAssertEqual(curve.fpr, [0, 0, 0.5, 1, 1, 1])
        XCTAssertEqual(curve.pro, [0, 0.5, 0.5, 0.5, 1, 1])
        XCTAssertEqual(auPRO(curve: curve, fprLimit: 1), 0.5, accuracy: 1e-12)
        // Up to 0.3 the PRO is a flat 1/2.
        XCTAssertEqual(auPRO(curve: curve, fprLimit: 0.3), 0.5, accuracy: 1e-12)
    }

    func testTiedScoresGiveOnePoint() {
        let curve = proCurve(maps: [[0.5, 0.5, 0.5, 0.1]], masks: [[true, false, false, false]], width: 2, height: 2)
        XCTAssertEqual(curve.fpr.count, 4)   // (0,0), the 0.5 run, the 0.1 pixel, (1,1)
        XCTAssertEqual(curve.fpr[1], 2.0 / 3, accuracy: 1e-7)
        XCTAssertEqual(curve.pro[1], 1)
    }

    func testPerfectDetectionIsOne() {
        let maps: [[Float]] = [[0.9, 0.8, 0.1, 0.2], [0.3, 0.2, 0.1, 0.0]]
        let masks: [[UInt8]] = [[255, 255, 0, 0], [0, 0, 0, 0]]
        XCTAssertEqual(auPRO(maps: maps, masks: masks, width: 2, height: 2), 1, accuracy: 1e-12)
    }

    func testRegionsWeighEquallyWhateverTheirSize() {
        // A detected 1-pixel region and a missed 3-pixel region: PRO 1/2 until the big one is reached.
        let maps: [[Float]] = [[0.9, 0.0, 0.0, 0.0, 0.5, 0.5]]
        let masks: [[Bool]] = [[true, false, true, true, true, false]]
        let curve = proCurve(maps: maps, masks: masks, width: 6, height: 1)
        XCTAssertEqual(curve.regionCount, 2)
        XCTAssertEqual(curve.pro[1], 0.5)
        XCTAssertEqual(curve.pro[2], 0.5 + 0.5 / 3, accuracy: 1e-15)
    }

    func testNoRegionIsUndefined() {
        XCTAssertTrue(auPRO(maps: [[0.1, 0.2]], masks: [[false, false]], width: 2, height: 1).isNaN)
    }

    func testAgreesWithBruteForceThresholdSweep() {
        var generator = SplitMix64(seed: 11)
        let (width, height) = (9, 7)
        var maps: [[Float]] = [], masks: [[Bool]] = []
        for image in 0..<6 {
            maps.append((0..<(width * height)).map { _ in Float(generator.next() % 40) / 40 })
            masks.append((0..<(width * height)).map { _ in image > 1 && generator.next() % 5 == 0 })
        }
        for limit in [0.3, 1.0] {
            XCTAssertEqual(auPRO(maps: maps, masks: masks, width: width, height: height, fprLimit: limit),
                           bruteForceAUPRO(maps: maps, masks: masks, width: width, height: height, limit: limit), accuracy: 1e-6)
        }
    }

    /// Threshold at every distinct score, recount everything from scratch (the reference's independent check).
    func bruteForceAUPRO(maps: [[Float]], masks: [[Bool]], width: Int, height: Int, limit: Double) -> Double {
        let regions = masks.map { connectedComponents8(mask: $0, width: width, height: height) }
        let okCount = masks.joined().filter { !$0 }.count
        let regionCount = regions.map(\.count).reduce(0, +)
        var x = [0.0], y = [0.0]
        for t in Set(maps.joined()).sorted(by: >) {
            var fp = 0, overlap = 0.0
            for (map, components) in zip(maps, regions) {
                var hits = [Int](repeating: 0, count: components.count)
                for (score, label) in zip(map, components.labels) where score >= t {
                    if label == 0 { fp += 1 } else { hits[Int(label) - 1] += 1 }
                }
                overlap += zip(hits, components.sizes).map { Double($0) / Double($1) }.reduce(0, +)
            }
            x.append(Double(fp) / Double(okCount))
            y.append(overlap / Double(regionCount))
        }
        x.append(1)
        y.append(1)
        return trapezoid(x: x, y: y, xMax: limit) / limit
    }
}

final class TrapezoidTests: XCTestCase {
    func testInterpolatesAtTheLimit() {
        XCTAssertEqual(trapezoid(x: [0, 1], y: [0, 1], xMax: 0.5), 0.125, accuracy: 1e-15)
        XCTAssertEqual(trapezoid(x: [0, 0.5, 1], y: [0, 1, 1], xMax: 0.75), 0.5, accuracy: 1e-15)
    }

    func testLimitOnASampleNeedsNoCorrection() {
        XCTAssertEqual(trapezoid(x: [0, 0.5, 1], y: [1, 1, 0], xMax: 0.5), 0.5)
    }

    func testDropsNonFinitePoints() {
        XCTAssertEqual(trapezoid(x: [0, .nan, 1], y: [1, 5, 1]), 1)
    }
}

/// `PixelMetrics.sortedKeys` against its definition: every pixel's score bits above its tag (its image's kind for an
/// OK pixel, its region's number among all images' regions for a defect pixel), stably sorted by score. Images with
/// defects at their first and last pixels, none, or all; coarse scores so that ties span images; one part and several;
/// maps as arrays and in a `MapStore`, where the images skip some maps (an evaluation's images without a mask).
final class PixelSortKeysTests: XCTestCase {
    func testKeysAreEachPixelsScoreAndTagInStableScoreOrder() {
        var rng = SplitMix64(seed: 11)
        // 40 images pass the 2^16 pixels above which the keys are written in parts.
        let width = 64, height = 32, n = width * height
        for imageCount in [1, 5, 40] {
            // Every third map belongs to no image.
            let maps = (0..<(imageCount * 3 / 2 + 1)).map { _ in (0..<n).map { _ in Float(Int(rng.next() % 50) - 10) / 8 } }
            let mapOf = (0..<maps.count).filter { $0 % 3 != 1 }
            let images = (0..<imageCount).map { i -> PixelMetrics.Image in
                var mask = (0..<n).map { _ in i % 4 != 0 && rng.next() % 9 == 0 }
                if i % 4 == 1 { mask[0] = true; mask[n - 1] = true }
                if i % 7 == 6 { mask = [Bool](repeating: true, count: n) }
                return PixelMetrics.Image(map: mapOf[i], regions: DefectRegions(mask: mask, width: width, height: height),
                                          groups: i % 3 == 0 ? [0] : [0, 1 + i % 2])
            }
            let layout = PixelMetrics.Layout(images, groupCount: 3)
            var expected: [UInt64] = []
            for (i, image) in images.enumerated() {
                var labels = [Int32](repeating: 0, count: n)
                for (p, label) in zip(image.regions.pixels, image.regions.labels) { labels[Int(p)] = label }
                for p in 0..<n {
                    let tag = labels[p] == 0 ? layout.imageKind[i] : layout.imageFirstRegionTag[i] - 1 + Int(labels[p])
                    expected.append(UInt64(ascendingBits(maps[image.map][p])) << 32 | UInt64(tag))
                }
            }
            // Swift's sort is not stable: sort by (score, position).
            expected = expected.enumerated().sorted { ($0.element >> 32, $0.offset) < ($1.element >> 32, $1.offset) }.map(\.element)
            XCTAssertEqual(PixelMetrics.sortedKeys(images, .arrays(maps), layout), expected, "\(imageCount) images")
            let store = MapStore(count: maps.count, pixels: n)
            for (i, map) in maps.enumerated() { store.store(map, at: i) }
            XCTAssertEqual(PixelMetrics.sortedKeys(images, .store(store), layout), expected, "\(imageCount) images, stored")
        }
    }
}
