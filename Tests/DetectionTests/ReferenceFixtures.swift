import Foundation
import XCTest

/// /work/shared (reference outputs and datasets), found next to the repository; tests skip when it is absent.
func sharedFolder(_ parts: String..., file: StaticString = #filePath) throws -> URL {
    let url = parts.reduce(
        URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("../../../shared").standardizedFileURL
    ) { $0.appendingPathComponent($1) }
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw XCTSkip("reference data not found at \(url.path) (expected /work/shared beside the repository)")
    }
    return url
}

/// Just enough safetensors for the reference files: 8-byte little-endian header length, a JSON header
/// {name: {dtype, shape, data_offsets}} with offsets counted from the end of the header, F32 little-endian data.
struct F32Tensors {
    var tensors: [String: (shape: [Int], values: [Float])] = [:]

    init(contentsOf url: URL) throws {
        let data = try Data(contentsOf: url)
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        for (name, entry) in header where name != "__metadata__" {
            let entry = entry as! [String: Any]
            guard entry["dtype"] as? String == "F32" else { throw CocoaError(.fileReadCorruptFile) }
            let offsets = entry["data_offsets"] as! [Int]
            let bytes = data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
            let values = stride(from: 0, to: bytes.count, by: 4).map { i in
                Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[bytes.startIndex + i + $1]) << (8 * $1) })
            }
            tensors[name] = (entry["shape"] as! [Int], values)
        }
    }

    func values(_ name: String) throws -> [Float] {
        guard let tensor = tensors[name] else { throw CocoaError(.fileReadCorruptFile, userInfo: ["tensor": name]) }
        return tensor.values
    }

    func shape(_ name: String) throws -> [Int] {
        guard let tensor = tensors[name] else { throw CocoaError(.fileReadCorruptFile, userInfo: ["tensor": name]) }
        return tensor.shape
    }
}
