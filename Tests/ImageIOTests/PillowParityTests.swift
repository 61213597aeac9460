import Foundation
import XCTest
@testable import ImageIO
import Numerics
import TestSupport

/// Bit-for-bit agreement with the `raw` tensors of the shared reference (Pillow 13 convert('RGB') + BILINEAR).
final class PillowParityTests: XCTestCase {
    private static let images = ["tire/test/cut/000.png", "tire/train/good/000.png"]

    func testResNet18Input64() throws {
        try checkRaw(tensorFile: "reference/resnet18/input.safetensors", size: 64)
    }

    func testEfficientNetLite0Input256() throws {
        try checkRaw(tensorFile: "reference/efficientnet_lite0/input.safetensors", size: 256)
    }

    private func checkRaw(tensorFile: String, size: Int) throws {
        let tensors = try SafetensorsFile(path: try SharedData.require(tensorFile).path)
        XCTAssertEqual(tensors.shape("raw"), [Self.images.count, 3, size, size])
        let raw = try tensors.floats("raw")
        let plane = size * size
        for (n, name) in Self.images.enumerated() {
            let path = try SharedData.require("datasets", name).path
            let resized = try ImageReader.read(path: path, as: .rgb).resizedBilinear(width: size, height: size)
            var mismatches = 0
            for c in 0..<3 {
                for i in 0..<plane where Float(resized.pixels[i * 3 + c]) != raw[(n * 3 + c) * plane + i] {
                    mismatches += 1
                }
            }
            XCTAssertEqual(mismatches, 0, "\(name) at \(size)x\(size): \(mismatches) of \(3 * plane) bytes differ")
        }
    }
}
