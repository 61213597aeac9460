/// One of `count` parts of a set of files, for scoring on several machines without coordination: a file
/// belongs to shard `StableHash(key) % count`, where the key is its path below the inputs' common folder,
/// so every machine (whatever its mount point) puts every file in the same shard.
public struct Shard: Equatable, Sendable {
    public var index: Int
    public var count: Int

    /// "I/N" with 0 <= I < N.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n > 0, (0..<n).contains(i) else { return nil }
        index = i
        count = n
    }

    public func contains(key: String) -> Bool {
        Int(StableHash.of(key) % UInt64(count)) == index
    }

    /// The positions of `paths` in this shard.
    public func select(_ paths: [String]) -> [Int] {
        pathsBelowCommonFolder(paths).enumerated().filter { contains(key: $0.element) }.map(\.offset)
    }
}
