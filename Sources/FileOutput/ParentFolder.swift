/// The folder part of a path ("." when it has none), found by bytes: Foundation's
/// `NSString.deletingLastPathComponent` traps on some one-character strings from argv ("D").
public func parentFolder(of path: String) -> String {
    let bytes = Array(path.utf8)
    var end = bytes.count
    while end > 1 && bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
    guard let slash = bytes[..<end].lastIndex(of: UInt8(ascii: "/")) else { return "." }
    var stop = slash
    while stop > 0 && bytes[stop - 1] == UInt8(ascii: "/") { stop -= 1 }
    return stop == 0 ? "/" : String(decoding: bytes[..<stop], as: UTF8.self)
}
