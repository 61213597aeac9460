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
}
