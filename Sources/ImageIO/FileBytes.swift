import Foundation

/// The whole file, with the OS's reason (strerror) when it cannot be read.
func readWholeFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw ImageIOError(path: path, message: "cannot open: \(systemError())") }
    defer { close(fd) }
    var bytes = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n == 0 { return bytes }
        if n < 0 {
            if errno == EINTR { continue }
            throw ImageIOError(path: path, message: "cannot read: \(systemError())")
        }
        bytes.append(contentsOf: chunk[0..<n])
    }
}

func systemError() -> String { String(cString: strerror(errno)) }
