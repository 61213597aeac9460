import FileOutput
import Foundation

extension SafetensorsFile {
    /// Writes F32 tensors in the given order, atomically (`AtomicFile`): a crash or a full disk leaves
    /// either the previous file or none, never a torn one.
    public static func write(_ tensors: [NamedTensor],
                             metadata: [String: String], to path: String) throws
    {
        let header = try headerBytes(tensors, metadata: metadata, path: path)
        do {
            try AtomicFile.write(to: path) { fd in
                let prefix = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header
                try prefix.withUnsafeBytes { try AtomicFile.writeAll(fd, $0, path: path) }
                for t in tensors {
                    if UInt32(littleEndian: 1) == 1 {
                        try t.values.withUnsafeBytes { try AtomicFile.writeAll(fd, $0, path: path) }
                    } else {
                        try t.values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { try AtomicFile.writeAll(fd, $0, path: path) }
                    }
                }
            }
        } catch let error as FileOutputError {
            throw SafetensorsError.writeFailed(path: path, reason: error.reason)
        }
    }

    static func headerBytes(_ tensors: [NamedTensor],
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
