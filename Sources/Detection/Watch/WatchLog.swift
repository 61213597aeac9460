import FileOutput
import Foundation
import Numerics

public enum WatchLogError: Error, CustomStringConvertible {
    case cannotOpen(String, String)
    case inUse(String)
    case writeFailed(String, String)

    public var description: String {
        switch self {
        case let .cannotOpen(file, why): "cannot open the watch log \(file): \(why)"
        case .inUse(let file): "\(file) is in use by another stpm watch; give this one its own --log FILE"
        case let .writeFailed(file, why): "cannot append to the watch log \(file): \(why); the image in hand is scored again on restart"
        }
    }
}

/// The watch log: one JSON line per image, appended with one write(2) and fsync'd before the next image,
/// so a crash or power cut loses at most the line being written. Opening it rebuilds the restart index
/// (a 64-bit key per line: path, size and mtime, about 8 bytes per image in memory) and cuts off a
/// torn last line, whose image is then scored again. An exclusive lock keeps a second watcher out.
public final class WatchLog {
    public let path: String
    private let fd: Int32
    private var keys = Set<UInt64>()
    /// Lines in the log (read at open plus appended).
    public private(set) var lines = 0
    /// What opening had to repair or skip, for the caller to report.
    public private(set) var notes: [String] = []

    /// Lines longer than this are not records (a path is at most 4096 bytes): skipped as damaged.
    static let maxLine = 1 << 16

    public init(path: String) throws {
        self.path = path
        let existed = FileManager.default.fileExists(atPath: path)
        fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WatchLogError.cannotOpen(path, String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw WatchLogError.inUse(path)
        }
        if !existed { syncFolder(of: path) }
        do { try readIndex() } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    public var count: Int { keys.count }

    public func contains(path: String, file: FileState) -> Bool {
        keys.contains(WatchRecord.key(path: path, file: file))
    }

    public func append(_ record: WatchRecord) throws {
        let line = try record.jsonLine()
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else {
            let why = written < 0 ? String(cString: strerror(errno)) : "short write (\(written) of \(line.count) bytes)"
            throw WatchLogError.writeFailed(path, why)
        }
        guard fsync(fd) == 0 else { throw WatchLogError.writeFailed(path, String(cString: strerror(errno))) }
        keys.insert(WatchRecord.key(path: record.path, file: record.file))
        lines += 1
    }

    private struct Identity: Decodable {
        var path: String
        var size: Int64
        var mtimeNs: Int64
        enum CodingKeys: String, CodingKey { case path, size, mtimeNs = "mtime_ns" }
    }

    /// Streams the file in chunks: memory holds one chunk and the keys, never the log.
    private func readIndex() throws {
        let decoder = JSONDecoder()
        var pending = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var offset: off_t = 0
        var lineNumber = 0
        var damaged: [Int] = []
        var overlong = false
        func take(_ line: ArraySlice<UInt8>) {
            lineNumber += 1
            guard !line.isEmpty else { return }
            if let identity = try? decoder.decode(Identity.self, from: Data(line)) {
                keys.insert(WatchRecord.key(path: identity.path, file: FileState(size: identity.size, mtimeNs: identity.mtimeNs)))
                lines += 1
            } else {
                damaged.append(lineNumber)
            }
        }
        // Offset just past the last newline: where a torn last line begins.
        var complete: off_t = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw WatchLogError.cannotOpen(path, String(cString: strerror(errno)))
            }
            if n == 0 { break }
            var start = 0
            for i in 0..<n where chunk[i] == UInt8(ascii: "\n") {
                if overlong {
                    lineNumber += 1
                    damaged.append(lineNumber)
                    overlong = false
                } else {
                    pending.append(contentsOf: chunk[start..<i])
                    take(pending[...])
                }
                pending.removeAll(keepingCapacity: true)
                start = i + 1
                complete = offset + off_t(i + 1)
            }
            if !overlong { pending.append(contentsOf: chunk[start..<n]) }
            if pending.count > WatchLog.maxLine {
                overlong = true
                pending.removeAll()
            }
            offset += off_t(n)
        }
        if complete < offset {
            // A torn last line: the crash came while it was written. Cut it so the next line starts clean.
            if ftruncate(fd, complete) == 0 {
                notes.append("\(path): removed an incomplete last line (a crash while it was written); its image is scored again")
            } else {
                throw WatchLogError.cannotOpen(path, "cannot remove its incomplete last line: \(String(cString: strerror(errno)))")
            }
        }
        if !damaged.isEmpty {
            let shown = damaged.prefix(5).map(String.init).joined(separator: ", ") + (damaged.count > 5 ? ", ..." : "")
            notes.append("\(path): \(damaged.count) lines are not watch records and were skipped (line \(shown))")
        }
    }
}

/// fsync of the folder, so a newly created file's name survives a power cut too.
func syncFolder(of path: String) {
    let folder = open(parentFolder(of: path), O_RDONLY | O_DIRECTORY)
    guard folder >= 0 else { return }
    fsync(folder)
    close(folder)
}
