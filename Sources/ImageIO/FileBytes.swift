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
    func tooLarge() -> ImageIOError {
        ImageIOError(path: path, message: "file is larger than \(limit) bytes, more than an image within "
                     + "the pixel limit needs (\(ImageLimits.explanation))")
    }
    func readFailed() -> ImageIOError { ImageIOError(path: path, message: "cannot read: \(systemError())") }
    // A regular file is read straight into an array of its size: no growing and copying of chunks.
    let size = (status.st_mode & S_IFMT) == S_IFREG ? Int(status.st_size) : 0
    guard size <= limit else { throw tooLarge() }
    var bytes = try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        count = 0
        while count < size {
            let n = read(fd, buffer.baseAddress! + count, size - count)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw readFailed()
            }
            count += n
        }
    }
    // The rest of a file that grew meanwhile, or of one whose size stat does not know (a pipe).
    try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1 << 16) { chunk in
        while true {
            let n = read(fd, chunk.baseAddress, chunk.count)
            if n == 0 { return }
            if n < 0 {
                if errno == EINTR { continue }
                throw readFailed()
            }
            guard bytes.count + n <= limit else { throw tooLarge() }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }
    return bytes
}

func systemError() -> String { String(cString: strerror(errno)) }

/// A C library's NUL-terminated message buffer (imported as a tuple of CChar).
func stringFromCBuffer<Buffer>(_ buffer: Buffer) -> String {
    withUnsafeBytes(of: buffer) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
}
