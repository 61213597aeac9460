/// FNV-1a over bytes, finished with MurmurHash3's fmix64 so that every bit (and `value % n`) is well mixed.
/// The same bytes give the same value in every process and on every machine, which Swift's per-process
/// seeded `Hasher` does not: shard assignment and the watch log's index depend on that.
public struct StableHash {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func combine<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes { state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
    }

    /// A string and a terminating zero byte, so that consecutive fields cannot run into each other.
    public mutating func combine(_ text: String) {
        combine(bytes: text.utf8)
        combine(bytes: CollectionOfOne(0))
    }

    public mutating func combine(_ number: Int64) {
        withUnsafeBytes(of: number.littleEndian) { combine(bytes: $0) }
    }

    public var value: UInt64 {
        var h = state
        h ^= h >> 33; h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33; h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    public static func of(_ text: String) -> UInt64 {
        var hash = StableHash()
        hash.combine(text)
        return hash.value
    }
}
