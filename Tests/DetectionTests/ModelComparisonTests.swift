import Foundation
import XCTest
@testable import Detection

final class ModelComparisonTests: XCTestCase {
    func scored(_ type: String, _ name: String, score: Float, mask: [Bool]?) -> ScoredSample {
        ScoredSample(sample: DatasetSample(path: "\(type)/\(name).png", split: .test, defectType: type, maskPath: nil),
                     score: score, map: [score, 0, 0, 0], mask: mask, isDefective: mask.map { $0.contains(true) } ?? true)
    }

    /// A's and B's scorings of two good images, two holes and two stains; thresholds 0.5 (A) and 0.3 (B).
    func pair() -> (a: [ScoredSample], b: [ScoredSample]) {
        let clean = [Bool](repeating: false, count: 4), hit = [true, false, false, false]
        let names = [("good", "g1"), ("good", "g2"), ("hole", "h1"), ("hole", "h2"), ("stain", "s1"), ("stain", "s2")]
        let scoresA: [Float] = [0.1, 0.4, 0.9, 0.45, 0.6, 0.2]
        let scoresB: [Float] = [0.2, 0.35, 0.8, 0.7, 0.25, 0.9]
        // s1's defect vanished from A's (smaller) mask: the image is still defective for both.
        let masksA = [clean, clean, hit, hit, clean, hit], masksB = [clean, clean, hit, hit, hit, hit]
        return (zip(names, zip(scoresA, masksA)).map { scored($0.0, $0.1, score: $1.0, mask: $1.1) },
                zip(names, zip(scoresB, masksB)).map { scored($0.0, $0.1, score: $1.0, mask: $1.1) })
    }

    func testRowsDisagreementsAndOneLabelPerImage() throws {
        let (a, b) = pair()
        let report = ModelComparison.report(a: a, sizeA: 2, thresholdA: manualThreshold(0.5), b: b, sizeB: 2, thresholdB: manualThreshold(0.3))
        XCTAssertEqual(report.rows.map(\.name), ["all", "hole", "stain"])
        XCTAssertEqual(report.images.filter(\.isDefective).count, 4, "s1 is defective for both models")
        // A flags h1, s1; B flags g2 (0.35), h1, h2, s2.
        XCTAssertEqual(report.disagreements.map(\.sample.path), ["good/g2.png", "hole/h2.png", "stain/s1.png", "stain/s2.png"])
        XCTAssertEqual(report.disagreements.map(\.flaggedA), [false, false, true, false])
        for row in report.rows {
            XCTAssertEqual(row.a.imageAUROC, row.deLong.aucA, accuracy: 1e-12, row.name)
            XCTAssertEqual(row.b.imageAUROC, row.deLong.aucB, accuracy: 1e-12, row.name)
        }
        // all: A ranks 0.9, 0.6, 0.45, 0.2 against 0.1, 0.4: pairs won 2+2+2+1 = 7 of 8.
        XCTAssertEqual(report.rows[0].deLong.aucA, 7.0 / 8.0, accuracy: 1e-12)
        XCTAssertEqual(report.rows[2].b.images, 4, "stain row: both stains and both good images")
    }

    func testJSONCarriesWhatTheReferenceScriptReads() throws {
        let (a, b) = pair()
        let report = ModelComparison.report(a: a, sizeA: 2, thresholdA: manualThreshold(0.5), b: b, sizeB: 2, thresholdB: manualThreshold(0.3))
        let json = try JSONSerialization.jsonObject(with: report.json(modelA: "A", modelB: "B")) as! [String: Any]
        let images = json["images"] as! [[String: Any]]
        XCTAssertEqual(images.count, 6)
        XCTAssertEqual(images[4]["defective"] as? Bool, true)
        XCTAssertEqual(images[5]["score_b"] as! Double, Double(Float(0.9)), accuracy: 1e-12)
        let all = json["all"] as! [String: Any]
        XCTAssertEqual(all["auroc_difference"] as! Double, report.rows[0].deLong.difference, accuracy: 1e-15)
        XCTAssertEqual(all["delong_p"] as! Double, report.rows[0].deLong.pValue, accuracy: 1e-15)
        XCTAssertEqual((json["per_type"] as! [String: Any]).keys.sorted(), ["hole", "stain"])
        XCTAssertEqual(json["disagreements"] as? [String], ["good/g2.png", "hole/h2.png", "stain/s1.png", "stain/s2.png"])
    }

    func testAModelComparedWithItselfDiffersInNothing() throws {
        let model = try SyntheticSet.model()
        let report = try ModelComparison.run(modelA: model, modelB: model, dataset: MVTecDataset(root: SyntheticSet.data))
        XCTAssertTrue(report.disagreements.isEmpty)
        XCTAssertEqual(report.rows[0].deLong.difference, 0)
        XCTAssertEqual(report.rows[0].a.pixelAUROC, report.rows[0].b.pixelAUROC)
        XCTAssertEqual(report.thresholdA, model.config.threshold)
    }
}
