import XCTest
import Backbones
@testable import Detection

/// The training estimate against the peaks `/usr/bin/time -v` measured (README, "Memory"): it must
/// never be below one (a run it admits must fit) and not so far above that it refuses runs that fit.
final class MemoryBudgetTests: XCTestCase {
    func testTrainingEstimateBoundsTheMeasuredPeaks() {
        // backbone, size, batch, images, measured peak in KiB (release build, tire's train/good or its first 12).
        let measured: [(BackboneKind, Int, Int, Int, Int)] = [
            (.efficientnetLite0, 128, 8, 12, 164_508), (.efficientnetLite0, 256, 2, 12, 171_824),
            (.efficientnetLite0, 256, 8, 12, 495_752), (.efficientnetLite0, 384, 4, 12, 559_404),
            (.efficientnetLite0, 512, 2, 12, 524_880), (.efficientnetLite0, 256, 8, 239, 619_452),
            (.efficientnetLite0, 256, 32, 239, 1_714_964),
            (.resnet50Half, 128, 8, 12, 231_296), (.resnet50Half, 192, 8, 12, 354_252),
            (.resnet50Half, 256, 8, 239, 969_728), (.resnet50Half, 256, 32, 239, 1_831_812),
            (.resnet18, 256, 32, 239, 1_305_360),
        ]
        for (backbone, size, batch, images, kib) in measured {
            var o = TrainingOptions()
            (o.backbone, o.size, o.batchSize) = (backbone, size, batch)
            let estimate = MemoryBudget.training(o, images: images), peak = kib * 1024
            let run = "\(backbone.rawValue) \(size) px batch \(batch), \(images) images"
            XCTAssertGreaterThanOrEqual(estimate, peak, run)
            XCTAssertLessThanOrEqual(estimate, 2 * peak, run)
        }
    }

    func testScoringEstimateBoundsTheMeasuredPeaks() {
        // backbone, size, measured peak in KiB of `stpm score MODEL` on 500 tire-size PNGs (release build,
        // the higher of two runs at 2 threads: two lanes, each with its replicas; at 1 thread, one lane,
        // the peaks were 53-60 % of these).
        let measured: [(BackboneKind, Int, Int)] = [
            (.efficientnetLite0, 256, 117_664), (.efficientnetLite0, 512, 252_000),
            (.resnet50Half, 256, 287_476), (.resnet50Half, 512, 441_104),
        ]
        for (backbone, size, kib) in measured {
            let estimate = MemoryBudget.scoring(backbone, size: size, batch: 8), peak = kib * 1024
            let run = "scoring \(backbone.rawValue) at \(size) px"
            XCTAssertGreaterThanOrEqual(estimate, peak * 105 / 100, run)
            XCTAssertLessThanOrEqual(estimate, 2 * peak, run)
        }
    }
}
