import Foundation
import XCTest
@testable import Numerics

/// Large tensors are laid out in whole 2 MiB pages marked for huge pages (`Tensor.allocate`); small ones are not.
final class TensorPagesTests: XCTestCase {
    /// The VmFlags of the mapping holding `address` (/proc/self/smaps), or nil where there is no such file.
    private func flags(of address: UnsafeRawPointer) throws -> [String]? {
        // Read line by line: /proc reports a size of 0, which whole-file readers take at its word.
        guard let file = fopen("/proc/self/smaps", "r") else { return nil }
        defer { fclose(file) }
        var lines: [String] = []
        var buffer: UnsafeMutablePointer<CChar>? = nil, capacity = 0
        defer { free(buffer) }
        while getline(&buffer, &capacity, file) > 0 { lines.append(String(cString: buffer!).trimmingCharacters(in: .newlines)) }
        let a = UInt(bitPattern: address)
        var inside = false
        for line in lines {
            let fields = line.split(separator: " ")
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let ends = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = ends.count == 2 && ends[0] <= a && a < ends[1]
            } else if inside, fields.first == "VmFlags:" {
                return fields.dropFirst().map(String.init)
            }
        }
        XCTFail("no mapping holds \(address)")
        return []
    }

    func testLargeTensorsAreMarkedForHugePagesAndSmallOnesAreNot() throws {
        let large = Tensor(c: 16, n: 8, h: 96, w: 100)  // 4.9 MB, growing to 19.7 MB below
        XCTAssertEqual(UInt(bitPattern: large.data) % (2 << 20), 0, "whole 2 MiB pages")
        guard let marked = try flags(of: large.data) else { throw XCTSkip("no /proc/self/smaps") }
        XCTAssert(marked.contains("hg"), "MADV_HUGEPAGE: \(marked)")
        large.resize(c: 64, n: 8, h: 96, w: 100)
        XCTAssertEqual(UInt(bitPattern: large.data) % (2 << 20), 0, "grown: whole 2 MiB pages")
        XCTAssert(try flags(of: large.data)?.contains("hg") == true, "grown: MADV_HUGEPAGE")
        XCTAssert(UnsafeBufferPointer(start: large.data, count: large.count).allSatisfy { $0 == 0 }, "zeroed")
        large.data[large.count - 1] = 1  // the last float is inside the buffer
        let small = Tensor(c: 16, n: 8, h: 64, w: 64)  // 2 MB
        XCTAssert(try flags(of: small.data)?.contains("hg") == false, "a small tensor keeps the heap's pages")
    }
}
