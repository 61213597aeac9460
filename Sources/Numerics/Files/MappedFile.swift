import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A regular file mapped read-only, whole: the weights' loading hashes and parses the same pages (one mapping,
/// one set of page faults), where hashing it by reads copied every byte into buffers first.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// Without a base address for an empty file, which has nothing to map.
    public let bytes: UnsafeRawBufferPointer

    /// Errors name the file (`SafetensorsError.cannotOpen`). The pages are mapped in one call (`MAP_POPULATE`): the
    /// hash reads every one of them anyway, and mapping them by page faults (330 for the two files) costs more.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafetensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw SafetensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw SafetensorsError.cannotOpen(path: path, reason: "not a regular file")
        }
        let size = Int(st.st_size)
        guard size > 0 else { bytes = UnsafeRawBufferPointer(start: nil, count: 0); return }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0), p != MAP_FAILED else {
            throw SafetensorsError.cannotOpen(path: path, reason: "mmap: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
        if let start = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: start), bytes.count) }
    }

    /// The sha256 of the file's bytes, as `SHA256.hex(ofFile:)` gives it; safe beside readers of `bytes`.
    public func sha256Hex() -> String {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return hasher.finalize().hex
    }
}
