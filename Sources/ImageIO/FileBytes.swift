import Foundation

/// The whole file, with the OS's reason (strerror) when it cannot be read; a file longer than
/// `limit` bytes is refused before it is read, so a huge file cannot exhaust memory.
func readWholeFile(_ path: String, limit: Int = Int.max) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw ImageIOError(path: path, message: "cannot open: \(systemError())") }
    defer { close(fd) }
    var status = stat()
    if fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR {
        throw ImageIOError(path: path, message: "is a folder, not an image")
    }
    var bytes = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n == 0 { return bytes }
        if n < 0 {
            if errno == EINTR { continue }
            throw ImageIOError(path: path, message: "cannot read: \(systemError())")
        }
        guard bytes.count + n <= limit else {
            throw ImageIOError(path: path, message: "file is larger than \(limit) bytes, more than an image within "
                               + "the pixel limit needs (\(ImageLimits.explanation))")
        }
        bytes.append(contentsOf: chunk[0..<n])
    }
}

func systemError() -> String { String(cString: strerror(errno)) }

/// A C library's NUL-terminated message buffer (imported as a tuple of CChar).
func stringFromCBuffer<Buffer>(_ buffer: Buffer) -> String {
    withUnsafeBytes(of: buffer) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
}
