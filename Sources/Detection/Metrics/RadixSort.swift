import Foundation
import Numerics

/// Sorts integers byte by byte, least significant first (a counting sort per byte). Pixel AUROC and
/// AU-PRO sort one key per pixel of the test set (7.3 million for tire's 112 images at 256 px), where the
/// standard library's merge sort took 40 % of `stpm eval`. Equal keys are equal integers, so the
/// result is the same array any sort gives.
///
/// With `ignoringLowBytes` the keys are sorted by their upper bytes alone, stably: keys whose upper bytes
/// are equal keep their order (`PixelMetrics` keeps a pixel's tag below its score). Keys that arrive in
/// ascending order of those low bytes come out fully sorted.
///
/// Large arrays go in two steps: one stable scatter by their top 16 bits, then each of those buckets
/// sorted by the bytes below while it is in the cache, instead of every byte's pass going over the whole
/// array (tire's keys and sort in `stpm eval`: 64-73 ms before, 58-64 ms after). Pixel scores fill a few
/// hundred buckets.
///
/// A pass over many keys is split into one part per core: each part counts its digits, then scatters its
/// keys behind those of the parts before it, so the result is the sequential sort's.
func radixSort(_ keys: inout [UInt64], ignoringLowBytes: Int = 0) {
    let count = keys.count
    guard count > 1 else { return }
    let parts = count >= 1 << 16 ? min(Parallelism.threads, 8) : 1
    var room = [UInt64](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    keys.withUnsafeMutableBufferPointer { keys in
        room.withUnsafeMutableBufferPointer { room in
            let keys = keys.baseAddress!, room = room.baseAddress!
            guard count >= 1 << 17, ignoringLowBytes <= 6 else {
                sortByBytes(keys, room: room, count: count, bytes: ignoringLowBytes..<8, parts: parts)
                return
            }
            let starts = scatter(keys, into: room, count: count, shift: 48, bits: 16, parts: parts)
            guard !starts.isEmpty else {
                sortByBytes(keys, room: room, count: count, bytes: ignoringLowBytes..<6, parts: parts)
                return
            }
            sortBuckets(room, starts: starts, bytes: ignoringLowBytes..<6, parts: parts)
            keys.update(from: room, count: count)
        }
    }
}

/// Sorts each bucket `starts[b]..<starts[b + 1]` of `keys` stably by `bytes`, in place, while it is in the cache:
/// big buckets on every core, the others one per core, each core with room for its largest.
func sortBuckets(_ keys: UnsafeMutablePointer<UInt64>, starts: [Int], bytes: Range<Int>, parts: Int) {
    var small: [Range<Int>] = [], big: [Range<Int>] = []
    for bucket in 0..<(starts.count - 1) where starts[bucket + 1] > starts[bucket] {
        let range = starts[bucket]..<starts[bucket + 1]
        if range.count >= 1 << 16 { big.append(range) } else { small.append(range) }
    }
    if let largest = big.map(\.count).max() {
        let room = UnsafeMutablePointer<UInt64>.allocate(capacity: largest)
        defer { room.deallocate() }
        for range in big { sortByBytes(keys + range.lowerBound, room: room, count: range.count, bytes: bytes, parts: parts) }
    }
    let total = small.reduce(0) { $0 + $1.count }
    var shares = [0]
    var done = 0
    for (i, range) in small.enumerated() {
        done += range.count
        if done * parts >= total * shares.count, shares.count < parts { shares.append(i + 1) }
    }
    if shares.last != small.count { shares.append(small.count) }
    Parallelism.perform(shares.count - 1) { share in
        let mine = small[shares[share]..<shares[share + 1]]
        let room = UnsafeMutablePointer<UInt64>.allocate(capacity: mine.map(\.count).max() ?? 0)
        defer { room.deallocate() }
        for range in mine { sortByBytes(keys + range.lowerBound, room: room, count: range.count, bytes: bytes, parts: 1) }
    }
}

/// `keys` sorted stably by `bytes`, least significant first, with `room` for as many keys; the result is in `keys`.
func sortByBytes(_ keys: UnsafeMutablePointer<UInt64>, room: UnsafeMutablePointer<UInt64>, count: Int,
                         bytes: Range<Int>, parts: Int) {
    var source = keys, target = room
    for byte in bytes {
        let starts = scatter(source, into: target, count: count, shift: 8 * UInt64(byte), bits: 8, parts: parts)
        // A byte all keys share moved nothing: the keys are where they were.
        if starts.count == 0 { continue }
        swap(&source, &target)
    }
    if source != keys { keys.update(from: source, count: count) }
}

/// The keys of `source` stably by their `bits`-bit digit at `shift`, written to `target`; returns where each
/// digit value's keys start there (one more entry, the count), or nothing, without writing, when all keys share one digit.
private func scatter(_ source: UnsafeMutablePointer<UInt64>, into target: UnsafeMutablePointer<UInt64>, count: Int,
                     shift: UInt64, bits: Int, parts: Int) -> [Int] {
    let mask = UInt64(1 << bits - 1)
    let bounds = (0...parts).map { count * $0 / parts }
    return countingScatter(parts: parts, values: 1 << bits, total: count, uniformWritesNothing: true, count: { part, counts in
        for i in bounds[part]..<bounds[part + 1] { counts[Int(truncatingIfNeeded: (source[i] >> shift) & mask)] += 1 }
    }, write: { part, next in
        for i in bounds[part]..<bounds[part + 1] {
            let key = source[i]
            let value = Int(truncatingIfNeeded: (key >> shift) & mask)
            target[next[value]] = key
            next[value] += 1
        }
    })
}

/// A stable counting sort's two passes over items in `parts` (consecutive, in order), on every core: `count` adds
/// each of its part's items to `counts[digit]`, then `write` puts them at `next[digit]` (and increments it), behind
/// those of the parts before. Returns where each digit value's items start (one more entry, `total`), or nothing,
/// before any write, when `uniformWritesNothing` and all items share one digit.
func countingScatter(parts: Int, values: Int, total: Int, uniformWritesNothing: Bool,
                     count: (_ part: Int, _ counts: UnsafeMutablePointer<Int>) -> Void,
                     write: (_ part: Int, _ next: UnsafeMutablePointer<Int>) -> Void) -> [Int] {
    // Per part, the count of each digit value; then where its items of that value go.
    let offsets = UnsafeMutablePointer<Int>.allocate(capacity: parts * values)
    defer { offsets.deallocate() }
    offsets.initialize(repeating: 0, count: parts * values)
    func each(_ body: (Int) -> Void) {
        Parallelism.perform(parts, body)
    }
    each { part in count(part, offsets + part * values) }
    var starts = [Int](repeating: 0, count: values + 1)
    var start = 0
    for value in 0..<values {
        starts[value] = start
        for part in 0..<parts {
            let n = offsets[part * values + value]
            offsets[part * values + value] = start
            start += n
        }
        if uniformWritesNothing && start - starts[value] == total { return [] }
    }
    starts[values] = total
    each { part in write(part, offsets + part * values) }
    return starts
}
