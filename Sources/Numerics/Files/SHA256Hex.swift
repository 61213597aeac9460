import Foundation
import Crypto

/// Hex digests for pinning weight files and checksumming checkpoints. The hashing is swift-crypto's
/// (BoringSSL's SHA-256, with its SHA-NI and AVX2 code), which hashed the teacher on every model load
/// several times faster than the hand-written Swift one it replaced.
extension SHA256 {
    /// Hex digest of a file, read in 1 MiB pieces.
    public static func hex(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        } catch {
            // The read error alone ("Is a directory") would not say which file.
            throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path, NSUnderlyingErrorKey: error])
        }
        return hasher.finalize().hex
    }

    public static func hex(of data: Data) -> String { hash(data: data).hex }
}

extension SHA256.Digest {
    /// Lower-case hex, the form `sha256sum` prints and config.json records.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in self { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
