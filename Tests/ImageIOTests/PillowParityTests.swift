import Foundation
import XCTest
@testable import ImageIO

/// Bit-for-bit agreement with the `raw` tensors of the shared reference (Pillow 13 convert('RGB') + BILINEAR).
final class PillowParityTests: XCTestCase {
    private static let shared = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared").path
    private static let images = ["tire/test/cut/000.png", "tire/train/good/000.png"]

    func testResNet18Input64() throws {
        try checkRaw(tensorFile: "reference/resnet18/input.safetensors", size: 64)
    }

    func testEfficientNetLite0Input256() throws {
        try checkRaw(tensorFile: "reference/efficientnet_lite0/input.safetensors", size: 256)
    }

    private func checkRaw(tensorFile: String, size: Int) throws {
        let tensorPath = Self.shared + "/" + tensorFile
        guard FileManager.default.fileExists(atPath: tensorPath) else {
            throw XCTSkip("shared reference data not found at \(tensorPath)")
        }
        let raw = try safetensorsF32(path: tensorPath, name: "raw")
        XCTAssertEqual(raw.shape, [Self.images.count, 3, size, size])
        let plane = size * size
        for (n, name) in Self.images.enumerated() {
            let path = Self.shared + "/datasets/" + name
            guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("dataset image \(path) not found") }
            let resized = try PNGFile.read(path: path, as: .rgb).resizedBilinear(width: size, height: size)
            var mismatches = 0
            for c in 0..<3 {
                for i in 0..<plane where Float(resized.pixels[i * 3 + c]) != raw.values[(n * 3 + c) * plane + i] {
                    mismatches += 1
                }
            }
            XCTAssertEqual(mismatches, 0, "\(name) at \(size)x\(size): \(mismatches) of \(3 * plane) bytes differ")
        }
    }

    /// Just enough safetensors: u64 LE header length, JSON header, F32 LE data at offsets after the header.
    private func safetensorsF32(path: String, name: String) throws -> (shape: [Int], values: [Float]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        let entry = try XCTUnwrap(header[name] as? [String: Any], "no tensor \(name) in \(path)")
        XCTAssertEqual(entry["dtype"] as? String, "F32")
        let shape = entry["shape"] as! [Int]
        let offsets = entry["data_offsets"] as! [Int]
        let bytes = data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
        let values = stride(from: 0, to: bytes.count, by: 4).map { i -> Float in
            let b = bytes.startIndex + i
            return Float(bitPattern: UInt32(bytes[b]) | UInt32(bytes[b + 1]) << 8 | UInt32(bytes[b + 2]) << 16 | UInt32(bytes[b + 3]) << 24)
        }
        return (shape, values)
    }
}
