import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif

extension SafetensorsFile {
    /// Writes F32 tensors in the given order. The file appears under `path` only once it is complete and
    /// synced (temp file in the same directory, fsync, rename, fsync of the directory), so a crash or a full
    /// disk leaves either the previous file or none, never a torn one.
    public static func write(_ tensors: [(name: String, shape: [Int], values: [Float])],
                             metadata: [String: String], to path: String) throws
    {
        let header = try headerBytes(tensors, metadata: metadata, path: path)

        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/.\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        func fail(_ what: String) -> SafetensorsError {
            .writeFailed(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
        }

        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("cannot create temporary file \(tmp)") }
        var committed = false
        defer { if !committed { unlink(tmp) } }
        do {
            defer { close(fd) }
            let prefix = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header
            guard prefix.withUnsafeBytes({ writeAll(fd, $0) }) else { throw fail("write to \(tmp)") }
            for t in tensors {
                let ok: Bool
                if UInt32(littleEndian: 1) == 1 {
                    ok = t.values.withUnsafeBytes { writeAll(fd, $0) }
                } else {
                    ok = t.values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { writeAll(fd, $0) }
                }
                guard ok else { throw fail("write to \(tmp)") }
            }
            guard fsync(fd) == 0 else { throw fail("fsync of \(tmp)") }
        }
        guard rename(tmp, path) == 0 else { throw fail("rename into place") }
        committed = true
        // The rename itself lives in the directory; without this it can be lost on power failure.
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// Loops over short writes; false with errno set on failure.
    private static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer) -> Bool {
        guard var p = buf.baseAddress else { return true }
        var left = buf.count
        while left > 0 {
            let n = systemWrite(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            p += n
            left -= n
        }
        return true
    }

    static func headerBytes(_ tensors: [(name: String, shape: [Int], values: [Float])],
                            metadata: [String: String], path: String) throws -> [UInt8]
    {
        var seen = Set<String>()
        var parts: [String] = []
        if !metadata.isEmpty {
            let kv = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(kv.joined(separator: ","))}")
        }
        var offset = 0
        for t in tensors {
            func bad(_ reason: String) -> SafetensorsError { .invalidInput(path: path, reason: "tensor '\(t.name)': \(reason)") }
            guard t.name != "__metadata__" else { throw bad("name is reserved") }
            guard seen.insert(t.name).inserted else { throw bad("duplicate name") }
            let (count, problem) = elementCount(of: t.shape)
            if let problem { throw bad(problem) }
            guard count == t.values.count else {
                throw bad("shape \(t.shape) holds \(count) values but \(t.values.count) were given")
            }
            let end = offset + 4 * count
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(t.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var bytes = Array("{\(parts.joined(separator: ","))}".utf8)
        // Padding keeps the data area 8-byte aligned in the file, so mapped F32 data is naturally aligned.
        bytes += [UInt8](repeating: 0x20, count: (8 - bytes.count % 8) % 8)
        guard bytes.count <= maxHeaderBytes else {
            throw SafetensorsError.invalidInput(path: path, reason: "header would be \(bytes.count) bytes, over the limit")
        }
        return bytes
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
