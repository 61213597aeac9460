import Foundation
import XCTest
@testable import Numerics
import TestSupport

final class SafetensorsTests: XCTestCase {
    private var dir: TemporaryDirectory!

    override func setUpWithError() throws { dir = try TemporaryDirectory("safetensors-tests") }

    override func tearDown() { dir = nil }

    private func path(_ name: String) -> String { dir.file(name) }

    /// Assembles a file byte by byte so tests can produce exactly the malformed inputs a writer never would.
    private func rawFile(_ name: String, header: String, data: [UInt8] = [], length: UInt64? = nil) throws -> String {
        let h = Array(header.utf8)
        var bytes = withUnsafeBytes(of: (length ?? UInt64(h.count)).littleEndian, Array.init)
        bytes += h + data
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    private func expectError(_ p: String, _ mentions: [String], file: StaticString = #filePath, line: UInt = #line,
                             _ body: (String) throws -> Void) {
        XCTAssertThrowsError(try body(p), file: file, line: line) { error in
            XCTAssert(error is SafetensorsError, "unexpected error type \(error)", file: file, line: line)
            let text = "\(error)"
            for m in [p] + mentions {
                XCTAssert(text.contains(m), "'\(text)' does not mention '\(m)'", file: file, line: line)
            }
        }
    }

    // MARK: round trip

    func testRoundTrip() throws {
        let p = path("rt.safetensors")
        let a: [Float] = (0..<24).map { Float($0) * 0.5 - 3 }
        let special: [Float] = [-0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .nan]
        let tensors: [NamedTensor] = [
            NamedTensor(name: "z.first", shape: [2, 3, 4], values: a),
            NamedTensor(name: "a \"quoted\"\\name\n", shape: [6], values: special),
            NamedTensor(name: "scalar", shape: [], values: [42]),
            NamedTensor(name: "empty", shape: [0, 3], values: []),
        ]
        let meta = ["format": "pt", "note": "ünïcode \"and\" \u{1}control"]
        try SafetensorsFile.write(tensors, metadata: meta, to: p)

        let f = try SafetensorsFile(path: p)
        XCTAssertEqual(f.names, tensors.map(\.name), "names come back in data order, which is the written order")
        XCTAssertEqual(f.metadata, meta)
        for t in tensors {
            XCTAssertEqual(f.shape(t.name), t.shape)
            XCTAssertEqual(f.dtype(t.name), "F32")
            let back = try f.floats(t.name)
            XCTAssertEqual(back.map(\.bitPattern), t.values.map(\.bitPattern), t.name)
        }
        XCTAssertNil(f.shape("missing"))

        let bytes = try Data(contentsOf: URL(fileURLWithPath: p))
        let n = bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        XCTAssertEqual(n % 8, 0, "header is padded to a multiple of 8")
        XCTAssertEqual(UInt64(bytes.count), 8 + n + UInt64(4 * (24 + 6 + 1)))
        let header = String(decoding: bytes[8..<(8 + Int(n))], as: UTF8.self)
        XCTAssert(header.hasPrefix("{") && header.trimmingCharacters(in: .whitespaces).hasSuffix("}"), header)
    }

    func testWriteReplacesAtomicallyAndLeavesNoTemporaries() throws {
        let p = path("w.safetensors")
        try SafetensorsFile.write([NamedTensor(name: "x", shape: [2], values: [1, 2])], metadata: [:], to: p)
        try SafetensorsFile.write([NamedTensor(name: "y", shape: [1], values: [3])], metadata: [:], to: p)
        let f = try SafetensorsFile(path: p)
        XCTAssertEqual(f.names, ["y"])
        XCTAssertEqual(f.metadata, [:])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.safetensors"])
    }

    func testWriterRejectsInconsistentInputWithoutTouchingTheTarget() throws {
        let p = path("keep.safetensors")
        try SafetensorsFile.write([NamedTensor(name: "x", shape: [2], values: [1, 2])], metadata: [:], to: p)
        expectError(p, ["'x'", "6 values", "3"]) {
            try SafetensorsFile.write([NamedTensor(name: "x", shape: [2, 3], values: [1, 2, 3])], metadata: [:], to: $0)
        }
        expectError(p, ["'x'", "duplicate"]) {
            try SafetensorsFile.write([NamedTensor(name: "x", shape: [1], values: [1]), NamedTensor(name: "x", shape: [1], values: [2])], metadata: [:], to: $0)
        }
        expectError(p, ["'x'", "negative"]) { try SafetensorsFile.write([NamedTensor(name: "x", shape: [-1], values: [])], metadata: [:], to: $0) }
        XCTAssertEqual(try SafetensorsFile(path: p).floats("x"), [1, 2])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["keep.safetensors"])
        expectError(path("nodir/x.safetensors"), ["temporary"]) {
            try SafetensorsFile.write([NamedTensor(name: "x", shape: [1], values: [1])], metadata: [:], to: $0)
        }
    }

    // MARK: half precision decoding

    func testF16AndBF16Decoding() throws {
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x8000, 0x7C00, 0xFC00, 0x3555, 0x7E00]
        let bf16: [UInt16] = [0x3F80, 0x4049, 0xFF80, 0x0001, 0xBF00, 0x7FC0]
        func le(_ v: [UInt16]) -> [UInt8] { v.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }
        // One pad byte puts the tensors at odd offsets: the reader must not assume alignment.
        let header = """
        {"h":{"dtype":"F16","shape":[2,5],"data_offsets":[1,21]},"b":{"dtype":"BF16","shape":[6],"data_offsets":[21,33]}}
        """
        let p = try rawFile("half.safetensors", header: header, data: [0xEE] + le(f16) + le(bf16))
        let f = try SafetensorsFile(path: p)
        XCTAssertEqual(f.names, ["h", "b"])
        let h = try f.floats("h")
        let expectedH: [Float] = [1, -2, 65504, 0x1p-24, 0x3FFp-24, -0.0, .infinity, -.infinity, 0.333251953125]
        XCTAssertEqual(h.prefix(9).map(\.bitPattern), expectedH.map(\.bitPattern))
        XCTAssert(h[9].isNaN)
        let b = try f.floats("b")
        let expectedB: [Float] = [1, 3.140625, -.infinity, Float(bitPattern: 0x0001_0000), -0.5]
        XCTAssertEqual(b.prefix(5).map(\.bitPattern), expectedB.map(\.bitPattern))
        XCTAssert(b[5].isNaN)
    }

    func testNonFloatDtypeOpensButDoesNotConvert() throws {
        let p = try rawFile("int.safetensors", header: #"{"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}"#,
                            data: [UInt8](repeating: 0, count: 8))
        let f = try SafetensorsFile(path: p)
        XCTAssertEqual(f.shape("n"), [])
        expectError(p, ["'n'", "I64"]) { _ in _ = try f.floats("n") }
        expectError(p, ["'nope'"]) { _ in _ = try f.floats("nope") }
    }

    // MARK: corrupt and hostile files

    func testHugeHeaderLength() throws {
        let p1 = try rawFile("huge.safetensors", header: "{}", length: UInt64.max)
        expectError(p1, ["exceeds"]) { _ = try SafetensorsFile(path: $0) }
        let p2 = try rawFile("big.safetensors", header: "{}", length: 200 * 1024 * 1024)
        expectError(p2, ["exceeds"]) { _ = try SafetensorsFile(path: $0) }
        let p3 = try rawFile("long.safetensors", header: "{}", length: 3)
        expectError(p3, ["header length 3", "only 2 bytes"]) { _ = try SafetensorsFile(path: $0) }
    }

    func testTruncatedFile() throws {
        let short = path("short.safetensors")
        try Data([1, 0, 0]).write(to: URL(fileURLWithPath: short))
        expectError(short, ["3 bytes"]) { _ = try SafetensorsFile(path: $0) }
        let empty = path("empty.safetensors")
        try Data().write(to: URL(fileURLWithPath: empty))
        expectError(empty, ["0 bytes"]) { _ = try SafetensorsFile(path: $0) }

        // A complete file cut inside its data area.
        let full = path("full.safetensors")
        try SafetensorsFile.write([NamedTensor(name: "w", shape: [4], values: [1, 2, 3, 4])], metadata: [:], to: full)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: full))
        try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: full))
        expectError(full, ["'w'", "past"]) { _ = try SafetensorsFile(path: $0) }
    }

    func testOffsetsOutOfRange() throws {
        let data = [UInt8](repeating: 0, count: 16)
        let past = try rawFile("past.safetensors", header: #"{"t":{"dtype":"F32","shape":[4],"data_offsets":[4,20]}}"#, data: data)
        expectError(past, ["'t'", "past the 16-byte data area"]) { _ = try SafetensorsFile(path: $0) }
        let reversed = try rawFile("rev.safetensors", header: #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: data)
        expectError(reversed, ["'t'", "ordered"]) { _ = try SafetensorsFile(path: $0) }
        let negative = try rawFile("neg.safetensors", header: #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: data)
        expectError(negative, ["'t'", "ordered"]) { _ = try SafetensorsFile(path: $0) }
        let huge = try rawFile("hugeoff.safetensors",
                               header: #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775800,9223372036854775804]}}"#,
                               data: data)
        expectError(huge, ["'t'", "past"]) { _ = try SafetensorsFile(path: $0) }
        let three = try rawFile("three.safetensors", header: #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: data)
        expectError(three, ["'t'", "2 entries"]) { _ = try SafetensorsFile(path: $0) }
    }

    func testWrongByteCount() throws {
        let data = [UInt8](repeating: 0, count: 16)
        let p = try rawFile("count.safetensors", header: #"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, data: data)
        expectError(p, ["'t'", "16 bytes", "needs 12"]) { _ = try SafetensorsFile(path: $0) }
        let h = try rawFile("count16.safetensors", header: #"{"t":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,16]}}"#, data: data)
        expectError(h, ["'t'", "needs 8"]) { _ = try SafetensorsFile(path: $0) }
    }

    func testShapeOverflowRankAndDtype() throws {
        let data = [UInt8](repeating: 0, count: 16)
        let overflow = try rawFile("ovf.safetensors",
                                   header: #"{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}"#, data: data)
        expectError(overflow, ["'t'", "overflows"]) { _ = try SafetensorsFile(path: $0) }
        let bytesOverflow = try rawFile("ovf2.safetensors",
                                        header: #"{"t":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,16]}}"#, data: data)
        expectError(bytesOverflow, ["'t'", "overflows"]) { _ = try SafetensorsFile(path: $0) }
        let rank = try rawFile("rank.safetensors",
                               header: #"{"t":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}"#, data: data)
        expectError(rank, ["'t'", "rank 9"]) { _ = try SafetensorsFile(path: $0) }
        let neg = try rawFile("negdim.safetensors", header: #"{"t":{"dtype":"F32","shape":[-1,-4],"data_offsets":[0,16]}}"#, data: data)
        expectError(neg, ["'t'", "negative"]) { _ = try SafetensorsFile(path: $0) }
        let dtype = try rawFile("dtype.safetensors", header: #"{"t":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, data: data)
        expectError(dtype, ["'t'", "Q4"]) { _ = try SafetensorsFile(path: $0) }
    }

    func testBadJSON() throws {
        let cases = [
            "not json",
            "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}",
            "[1,2,3]",
            #"{"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#,
            #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,1e30]}}"#,
            #"{"t":{"dtype":"F32","shape":[1]}}"#,
            #"{"__metadata__":{"k":1}}"#,
            #"{"t":"F32"}"#,
        ]
        for (i, header) in cases.enumerated() {
            let p = try rawFile("bad\(i).safetensors", header: header, data: [0, 0, 0, 0])
            expectError(p, ["invalid safetensors header"]) { _ = try SafetensorsFile(path: $0) }
        }
    }

    func testMissingFile() {
        expectError(path("absent.safetensors"), ["cannot open"]) { _ = try SafetensorsFile(path: $0) }
        expectError(dir.path, ["not a regular file"]) { _ = try SafetensorsFile(path: $0) }
    }

    // MARK: shared reference file

    func testReadsReferenceResNet18Teacher() throws {
        let p = try SharedData.require("reference", "resnet18", "teacher.safetensors").path
        let f = try SafetensorsFile(path: p)
        XCTAssertEqual(f.names.count, 75)
        XCTAssertEqual(f.shape("conv1.weight"), [64, 3, 7, 7])
        let w = try f.floats("conv1.weight")
        XCTAssertEqual(w.count, 64 * 3 * 7 * 7)
        XCTAssert(w.allSatisfy(\.isFinite))
        XCTAssert(w.contains { $0 != 0 })
        for name in f.names {
            let count = f.shape(name)!.reduce(1, *)
            if ["F32", "F16", "BF16"].contains(f.dtype(name)!) { XCTAssertEqual(try f.floats(name).count, count, name) }
        }
    }
}
