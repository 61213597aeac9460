import Foundation
import XCTest
import Numerics
import ImageIO
@testable import Detection
import TestSupport

final class EvaluationTests: XCTestCase {
    func testSyntheticSetGivesMetricsInRangeOverallAndPerType() throws {
        let (_, report) = try Evaluation.run(modelPath: SyntheticSet.trainedModel(), dataset: MVTecDataset(root: SyntheticSet.data))
        XCTAssertEqual(report.overall.images, 4)
        XCTAssertEqual(report.overall.defective, 2)
        // The trained model ranks every scratch above every good image, and finds the scratches' pixels: floors
        // below the measured 0.9948 pixel AUROC and 0.9825 AU-PRO (deterministic training, same seed).
        XCTAssertEqual(report.overall.imageAUROC, 1)
        XCTAssertGreaterThan(report.overall.pixelAUROC, 0.98)
        XCTAssertGreaterThan(report.overall.auPRO, 0.95)
        XCTAssertEqual(report.perType.map(\.type), ["scratch"])
        XCTAssertEqual(report.perType[0].metrics.images, 4, "a type's row holds its images and every good image")
        let json = try JSONSerialization.jsonObject(with: report.json()) as? [String: Any]
        XCTAssertNotNil(json?["aupro_0.3"] as? Double)
        XCTAssertEqual((json?["per_type"] as? [String: Any])?.keys.sorted(), ["scratch"])
        XCTAssertEqual(json?["images"] as? Int, 4)
    }

    /// `run` keeps the maps in one `MapStore` and each mask as its regions: its report equals, bit for bit, `report`
    /// of the samples as `LabelledScoring.score` keeps them; also with a defect image whose mask is missing, whose
    /// map is stored but belongs to no pixel row, so the rows' maps are not the stored ones in order.
    func testRunEqualsTheReportOfTheScoredSamples() throws {
        let model = try SyntheticSet.trainedModel()
        let owner = try TemporaryDirectory()
        let partial = owner.file("data")
        try FileManager.default.copyItem(atPath: SyntheticSet.data, toPath: partial)
        try FileManager.default.removeItem(atPath: partial + "/ground_truth/scratch/000_mask.png")
        for data in [SyntheticSet.data, partial] {
            let dataset = try MVTecDataset(root: data)
            let (loaded, run) = try Evaluation.run(modelPath: model, dataset: dataset)
            let scored = try LabelledScoring.score(model: loaded, samples: dataset.test)
            let direct = Evaluation.report(scored, size: loaded.size)
            func bits(_ m: EvaluationMetrics) -> [UInt64] {
                [UInt64(m.images), UInt64(m.defective), m.imageAUROC.bitPattern, m.pixelAUROC.bitPattern, m.auPRO.bitPattern]
            }
            XCTAssertEqual(bits(run.overall), bits(direct.overall), data)
            XCTAssertEqual(run.perType.map(\.type), direct.perType.map(\.type))
            XCTAssertEqual(run.perType.map { bits($0.metrics) }, direct.perType.map { bits($0.metrics) })
            XCTAssertEqual(run.withoutMask, direct.withoutMask)
            // And the images with a mask, scored alone by the plain functions.
            let withMask = scored.filter { $0.mask != nil }
            XCTAssertEqual(run.overall.pixelAUROC, pixelAUROC(maps: withMask.map(\.map), masks: withMask.map { $0.mask! }), accuracy: 1e-12)
            XCTAssertEqual(run.overall.auPRO, auPRO(maps: withMask.map(\.map), masks: withMask.map { $0.mask! }, width: loaded.size,
                                                    height: loaded.size), accuracy: 1e-12)
        }
        XCTAssertEqual(try Evaluation.run(modelPath: model, dataset: MVTecDataset(root: partial)).1.withoutMask.count, 1)
    }

    /// `run` scores in lanes that never meet and hand on their samples in no set order; what it reports still comes in the
    /// samples' order, as `LabelledScoring.score` (in order) gives it: the warnings of the samples before the first failure,
    /// then that failure, even when a later sample fails too; and progress counts up to the test set once.
    func testRunWarnsAndFailsInTheSamplesOrder() throws {
        let model = try SyntheticSet.trainedModel()
        let size = SyntheticSet.size
        let halfBright = Image8(width: size, height: size, channels: 1, pixels: SyntheticSet.scratch(1).map { $0 ? 200 : 0 })
        // Test samples in order: good/000, good/001, scratch/000, scratch/001.
        let variants: [(name: String, change: (String) throws -> Void)] = [
            ("two masks not 0/255", { data in
                for i in 0...1 {
                    try PNGFile.write(halfBright, path: data + "/ground_truth/scratch/00\(i)_mask.png")
                }
            }),
            ("a warning, then an unreadable image", { data in
                try PNGFile.write(halfBright, path: data + "/ground_truth/scratch/000_mask.png")
                try Data("not a PNG".utf8).write(to: URL(fileURLWithPath: data + "/test/scratch/001.png"))
            }),
            ("two unreadable images before a warning", { data in
                try Data("not a PNG".utf8).write(to: URL(fileURLWithPath: data + "/test/good/001.png"))
                try PNGFile.write(halfBright, path: data + "/ground_truth/scratch/000_mask.png")
                try Data("not a PNG".utf8).write(to: URL(fileURLWithPath: data + "/test/scratch/001.png"))
            }),
        ]
        let loaded = try AnomalyModel(path: model)
        for variant in variants {
            let owner = try TemporaryDirectory()
            let data = owner.file("data")
            try FileManager.default.copyItem(atPath: SyntheticSet.data, toPath: data)
            try variant.change(data)
            let dataset = try MVTecDataset(root: data)
            var inOrder: [String] = [], unordered: [String] = [], counts: [Int] = []
            do {
                _ = try LabelledScoring.score(model: loaded, samples: dataset.test, warn: { inOrder.append($0) })
            } catch { inOrder.append("error: \(error)") }
            do {
                _ = try Evaluation.run(modelPath: model, dataset: dataset, warn: { unordered.append($0) },
                                       progress: { done, total in counts.append(done); XCTAssertEqual(total, dataset.test.count) })
                XCTAssertEqual(counts, Array(1...dataset.test.count), variant.name)
            } catch { unordered.append("error: \(error)") }
            XCTAssertEqual(unordered, inOrder, variant.name)
            XCTAssertEqual(inOrder.filter { $0.hasPrefix("error: ") }.count, variant.name.contains("unreadable") ? 1 : 0, variant.name)
        }
    }

    func sample(_ type: String, score: Float, map: [Float], mask: [Bool]?) -> ScoredSample {
        ScoredSample(sample: DatasetSample(path: "\(type)/\(score).png", split: .test, defectType: type, maskPath: nil),
                     score: score, map: map, mask: mask, isDefective: mask.map { $0.contains(true) } ?? true)
    }

    /// Per-type rows pair each type with all good images; an image without mask counts for image AUROC
    /// only, and a metric without both classes is NaN (null in JSON) rather than a made-up number.
    func testPerTypeGroupsAndImagesWithoutMask() throws {
        let clean = [Bool](repeating: false, count: 4)
        let scored = [
            sample("good", score: 0.1, map: [0.1, 0, 0, 0], mask: clean),
            sample("good", score: 0.2, map: [0.2, 0, 0, 0], mask: clean),
            sample("hole", score: 0.9, map: [0.9, 0, 0, 0], mask: [true, false, false, false]),
            sample("stain", score: 0.15, map: [0.15, 0, 0, 0], mask: nil),
        ]
        let report = Evaluation.report(scored, size: 2)
        XCTAssertEqual(report.perType.map(\.type), ["hole", "stain"])
        XCTAssertEqual(report.perType.map(\.metrics.images), [3, 3])
        XCTAssertEqual(report.overall.imageAUROC, 2.0 / 4.0 * 0.5 + 2.0 / 4.0, accuracy: 1e-12) // hole beats both, stain beats one
        XCTAssertEqual(report.perType[0].metrics.pixelAUROC, 1)
        XCTAssertTrue(report.perType[1].metrics.pixelAUROC.isNaN, "stain has no pixel truth")
        XCTAssertEqual(report.withoutMask, ["stain/0.15.png"])
        let json = try JSONSerialization.jsonObject(with: report.json()) as? [String: Any]
        XCTAssertTrue((json?["per_type"] as? [String: [String: Any]])?["stain"]?["pixel_auroc"] is NSNull)
    }

    /// Every row's pixel metrics, taken from one sort of all pixels, equal those of its own images scored
    /// alone, to the last bit: images of three types and good ones interleaved, scores on a coarse grid so that
    /// runs of tied scores span images, types and defect regions of different sizes; at 8 px, and at 64 px
    /// where the sort and the AUROC scan are split between the cores.
    func testEachRowEqualsItsImagesEvaluatedAlone() {
        var rng = SplitMix64(seed: 11)
        let cycle = ["good", "hole", "good", "stain", "crack", "hole", "good", "stain", "crack", "hole", "stain", "good", "crack"]
        // Twelve levels make every score a run of ties; 2^20 leave most pixels alone with theirs (the scan's lone path).
        for (size, count, levels) in [(8, 13, 12), (64, 20, 12), (64, 20, 1 << 20)] {
            let pixels = size * size
            var scored = (0..<count).map { i in
                let type = cycle[i % cycle.count]
                let map = (0..<pixels).map { _ in Float(rng.next() % UInt64(levels)) / 16 }
                let mask = type == "good" ? [Bool](repeating: false, count: pixels)
                    : (0..<pixels).map { p in (p / size + p % size + i) % 5 == 0 || rng.next() % 9 == 0 }
                return sample(type, score: map.max()! + Float(i) / 1024, map: map, mask: mask)
            }
            scored[5].mask = nil
            let report = Evaluation.report(scored, size: size)
            let rows = [report.overall] + report.perType.map(\.metrics)
            let groups = Evaluation.defectTypeGroups(scored, type: \.sample.defectType)
            XCTAssertEqual(rows.count, 4)
            for (row, group) in zip(rows, groups) {
                let withMask = group.items.filter { $0.mask != nil }
                let maps = withMask.map(\.map), masks = withMask.map { $0.mask! }
                XCTAssertEqual(row.pixelAUROC, pixelAUROC(maps: maps, masks: masks), "\(size) px, \(group.name)")
                XCTAssertEqual(row.auPRO, auPRO(maps: maps, masks: masks, width: size, height: size), "\(size) px, \(group.name)")
                XCTAssertEqual(row.imageAUROC, imageAUROC(scores: group.items.map(\.score), labels: group.items.map(\.isDefective)))
                XCTAssertEqual(row.images, group.items.count)
            }
            XCTAssertEqual(report.withoutMask, [scored[5].sample.path])
        }
    }
}

final class TrainingOptionsDecodingTests: XCTestCase {
    func testOlderConfigWithoutNewerKeysDecodesWithDefaults() throws {
        let json = #"{"backbone":"resnet50-1by2","size":128,"epochs":5,"batchSize":8,"learningRate":0.4,"momentum":0.9,"weightDecay":0.0001,"validationFraction":0.2,"seed":3}"#
        let o = try JSONDecoder().decode(TrainingOptions.self, from: Data(json.utf8))
        XCTAssertEqual(o.backbone, .resnet50Half)
        XCTAssertEqual(o.size, 128)
        XCTAssertEqual(o.seed, 3)
        XCTAssertEqual(o.snapshotEpochs, [])
        XCTAssertNil(o.teacherWeights)
    }
}
