import XCTest
import Numerics
import ImageIO
import Backbones
@testable import Detection

/// `ImagePreparation.fill` converts a batch one image per part: every image must land in its own planes
/// whatever the thread count.
final class ImagePreparationFillTests: XCTestCase {
    func testEachImageFillsItsOwnPlanes() {
        var rng = SplitMix64(seed: 5)
        let side = 96, count = 5
        let images = (0..<count).map { _ in
            Image8(width: side, height: side, channels: 3, pixels: (0..<(side * side * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
        let saved = Parallelism.threads
        defer { Parallelism.set(saved) }
        for threads in [1, 2, 3] {
            Parallelism.set(threads)
            let batch = Tensor(c: 0, n: 0, h: 0, w: 0)
            ImagePreparation.fill(batch, with: images, kind: .efficientnetLite0)
            XCTAssertEqual([batch.c, batch.n, batch.h, batch.w], [3, count, side, side])
            var wrong = 0
            for (n, image) in images.enumerated() { for c in 0..<3 { for i in 0..<(side * side) {
                let want = (Float(image.pixels[i * 3 + c]) - 127) / 128
                if batch.data[(c * count + n) * side * side + i] != want { wrong += 1 }
            } } }
            XCTAssertEqual(wrong, 0, "\(threads) threads")
        }
    }
}
