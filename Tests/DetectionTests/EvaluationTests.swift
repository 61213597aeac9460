import Foundation
import XCTest
@testable import Detection

final class EvaluationTests: XCTestCase {
    func testSyntheticSetGivesMetricsInRangeOverallAndPerType() throws {
        let model = try SyntheticSet.model()
        let report = try Evaluation.run(model: model, dataset: MVTecDataset(root: SyntheticSet.data))
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
