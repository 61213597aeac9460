#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be written; `path` is always the target the caller asked for.
public struct FileOutputError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "could not write \(path): \(reason)" }
}

/// The one way stpm writes an output file. The content goes to a temporary file beside the target
/// (same file system, so rename(2) is atomic), is synced, renamed over the target, and the directory
/// is synced so the rename itself survives a power failure. Readers see the old file or the new one,
/// never a torn one. The temporary is named ".<name>.<pid>.<random>.tmp" so that StaleTemporaries
/// recognises one left by a killed process.
public enum AtomicFile {
    /// `body` writes the whole content to the temporary file's descriptor (and must not close it).
    public static func write(to path: String, _ body: (Int32) throws -> Void) throws {
        // Said up front: rename(2) onto a folder answers "Device or resource busy" or "Not a directory".
        guard !path.isEmpty else { throw FileOutputError(path: path, reason: "the file name is empty") }
        var status = stat()
        if path.utf8.last == UInt8(ascii: "/") || (stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR) {
            throw FileOutputError(path: path, reason: "it is a folder; give a file name")
        }
        let folder = parentFolder(of: path)
        let temporary = (folder == "/" ? "" : folder) + "/." + fileName(of: path)
            + ".\(getpid()).\(UInt32.random(in: .min ... .max)).tmp"
        func failure(_ what: String) -> FileOutputError {
            FileOutputError(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create the temporary file \(temporary)") }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(fd) }
            try body(fd)
            guard fsync(fd) == 0 else { throw failure("fsync of \(temporary)") }
        }
        guard rename(temporary, path) == 0 else { throw failure("cannot move \(temporary) into place") }
        renamed = true
        let directory = open(folder, O_RDONLY | O_CLOEXEC)
        if directory >= 0 { _ = fsync(directory); close(directory) }
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path) { fd in try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) } }
    }

    /// Writes all of `buffer`, looping over short writes and EINTR.
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        guard var p = buffer.baseAddress else { return }
        var left = buffer.count
        while left > 0 {
            let n = systemWrite(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileOutputError(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
            }
            p += n
            left -= n
        }
    }

    /// The last component of `path`, by bytes (see `parentFolder(of:)`).
    static func fileName(of path: String) -> String {
        let bytes = Array(path.utf8)
        var end = bytes.count
        while end > 1 && bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
        let start = bytes[..<end].lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif
