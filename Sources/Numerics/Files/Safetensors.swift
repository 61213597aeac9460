import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything that can go wrong reading or writing a safetensors file. Each case names the file (and the
/// tensor when there is one) because weight files come from outside and the user has to know which one is bad.
public enum SafetensorsError: Error, CustomStringConvertible, LocalizedError {
    case cannotOpen(path: String, reason: String)
    case truncated(path: String, reason: String)
    case badHeader(path: String, reason: String)
    case badTensor(path: String, name: String, reason: String)
    case noSuchTensor(path: String, name: String)
    case unsupportedDtype(path: String, name: String, dtype: String)
    case invalidInput(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .truncated(path, reason): return "\(path): truncated safetensors file: \(reason)"
        case let .badHeader(path, reason): return "\(path): invalid safetensors header: \(reason)"
        case let .badTensor(path, name, reason): return "\(path): tensor \(quoted(name)): \(reason)"
        case let .noSuchTensor(path, name): return "\(path): no tensor named \(quoted(name))"
        case let .unsupportedDtype(path, name, dtype):
            return "\(path): tensor \(quoted(name)) has dtype \(quoted(dtype)); only F32, F16 and BF16 convert to Float"
        case let .invalidInput(path, reason): return "\(path): refusing to write: \(reason)"
        case let .writeFailed(path, reason): return "\(path): write failed: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

/// A safetensors file mapped read-only into memory. The header is parsed and every tensor entry validated
/// up front, so `floats` can only fail for a missing name or a dtype it does not convert.
public final class SafetensorsFile {
    /// Same cap as the reference Rust/Python implementation; a larger header is certainly hostile.
    public static let maxHeaderBytes = 100 * 1024 * 1024
    public static let maxRank = 8

    public let path: String
    /// Tensor names in the order their data lies in the file.
    public let names: [String]
    public let metadata: [String: String]

    private struct Entry {
        let dtype: String
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    private let entries: [String: Entry]
    /// The mapping `base` points into, kept as long as the entries are read.
    private let file: MappedFile
    private var base: UnsafeRawPointer { file.bytes.baseAddress! }
    /// Offset of the data area (8 + header length) from `base`.
    private let dataStart: Int

    public convenience init(path: String) throws { try self.init(try MappedFile(path: path)) }

    /// The header of an already mapped file (whose bytes another thread may be hashing meanwhile).
    public init(_ file: MappedFile) throws {
        path = file.path
        let size = file.bytes.count
        guard size >= 8, let mapped = file.bytes.baseAddress else {
            throw SafetensorsError.truncated(path: path, reason: "\(size) bytes, shorter than the 8-byte header length")
        }
        let parsed = try Self.parse(path: path, base: mapped, size: size)
        self.file = file
        dataStart = parsed.dataStart
        entries = parsed.entries
        names = parsed.names
        metadata = parsed.metadata
    }

    /// The element count of `shape`, or why it is no valid tensor shape (rank, sign, overflow); the
    /// reader and the writer both bound shapes this way.
    static func elementCount(of shape: [Int]) -> (count: Int, problem: String?) {
        guard shape.count <= maxRank else { return (0, "rank \(shape.count) exceeds \(maxRank)") }
        var count = 1
        for d in shape {
            guard d >= 0 else { return (0, "negative dimension in shape \(shape)") }
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { return (0, "element count of shape \(shape) overflows") }
            count = p
        }
        return (count, nil)
    }

    public func shape(_ name: String) -> [Int]? { entries[name]?.shape }

    public func dtype(_ name: String) -> String? { entries[name]?.dtype }

    public func floats(_ name: String) throws -> [Float] {
        guard let e = entries[name] else { throw SafetensorsError.noSuchTensor(path: path, name: name) }
        let src = base + dataStart + e.begin
        switch e.dtype {
        case "F32":
            let count = (e.end - e.begin) / 4
            var out = [Float](repeating: 0, count: count)
            out.withUnsafeMutableBytes { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: src, count: count * 4))
            }
            if UInt32(littleEndian: 1) != 1 {
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: out[i].bitPattern)) }
            }
            return out
        case "F16":
            let count = (e.end - e.begin) / 2
            return (0..<count).map { i in
                Self.halfToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case "BF16":
            let count = (e.end - e.begin) / 2
            return (0..<count).map { i in
                let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                return Float(bitPattern: UInt32(bits) << 16)
            }
        default:
            throw SafetensorsError.unsupportedDtype(path: path, name: name, dtype: e.dtype)
        }
    }

    /// IEEE binary16 -> binary32 by bit manipulation; `Float16` is unavailable on some targets (macOS x86_64).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1F
        var mant = UInt32(h & 0x3FF)
        if exp == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        if exp != 0 { return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13)) }
        if mant == 0 { return Float(bitPattern: sign) }
        // Subnormal half: shift the mantissa up until its leading 1 becomes the implicit bit.
        var e: UInt32 = 113
        while mant & 0x400 == 0 { mant <<= 1; e -= 1 }
        return Float(bitPattern: sign | (e << 23) | ((mant & 0x3FF) << 13))
    }

    static let dtypeSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2,
        "I64": 8, "I32": 4, "I16": 2, "I8": 1,
        "U64": 8, "U32": 4, "U16": 2, "U8": 1,
        "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    ]

    private struct RawEntry: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct RawHeader: Decodable {
        var metadata: [String: String] = [:]
        var entries: [String: RawEntry] = [:]

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            for key in c.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try c.decode([String: String].self, forKey: key)
                } else {
                    entries[key.stringValue] = try c.decode(RawEntry.self, forKey: key)
                }
            }
        }
    }

    private static func parse(path: String, base: UnsafeRawPointer, size: Int)
        throws -> (dataStart: Int, entries: [String: Entry], names: [String], metadata: [String: String])
    {
        let n = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard n <= UInt64(maxHeaderBytes) else {
            throw SafetensorsError.badHeader(path: path, reason: "header length \(n) exceeds the \(maxHeaderBytes)-byte limit")
        }
        guard n <= UInt64(size - 8) else {
            throw SafetensorsError.truncated(path: path, reason: "header length \(n) but only \(size - 8) bytes follow")
        }
        let headerLength = Int(n)
        let json = Data(bytes: base + 8, count: headerLength)
        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: json)
        } catch {
            throw SafetensorsError.badHeader(path: path, reason: "JSON does not parse as a safetensors header (\((error as? DecodingError)?.plainDescription ?? "not valid JSON"))")
        }
        let dataStart = 8 + headerLength
        let dataSize = size - dataStart
        var entries: [String: Entry] = [:]
        for (name, r) in raw.entries {
            func bad(_ reason: String) -> SafetensorsError { .badTensor(path: path, name: name, reason: reason) }
            guard let elementSize = dtypeSizes[r.dtype] else { throw bad("unknown dtype \(quoted(r.dtype))") }
            let (count, problem) = elementCount(of: r.shape)
            if let problem { throw bad(problem) }
            let (bytes, o) = count.multipliedReportingOverflow(by: elementSize)
            guard !o else { throw bad("byte size of shape \(r.shape) overflows") }
            guard r.data_offsets.count == 2 else { throw bad("data_offsets must have 2 entries, has \(r.data_offsets.count)") }
            let begin = r.data_offsets[0], end = r.data_offsets[1]
            guard begin >= 0, begin <= end else { throw bad("data_offsets [\(begin), \(end)] are not an ordered range") }
            guard end <= dataSize else {
                throw bad("data_offsets [\(begin), \(end)] run past the \(dataSize)-byte data area")
            }
            guard end - begin == bytes else {
                throw bad("data_offsets cover \(end - begin) bytes but \(r.dtype) \(r.shape) needs \(bytes)")
            }
            entries[name] = Entry(dtype: r.dtype, shape: r.shape, begin: begin, end: end)
        }
        let names = entries.keys.sorted { a, b in
            let ea = entries[a]!, eb = entries[b]!
            return ea.begin != eb.begin ? ea.begin < eb.begin : a < b
        }
        return (dataStart, entries, names, raw.metadata)
    }
}
