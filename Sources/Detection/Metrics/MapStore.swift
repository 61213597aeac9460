#if os(Linux)
import Glibc
#endif

extension PixelMetrics {
    /// The anomaly maps the pixel metrics read, one per image in the images' order (row-major, each of its
    /// regions' `pixelCount`): the arrays of scored samples, or an evaluation's `MapStore`.
    enum Maps {
        case arrays([[Float]])
        case store(MapStore)

        var count: Int {
            switch self {
            case .arrays(let maps): maps.count
            case .store(let store): store.count
            }
        }

        func withMap<R>(_ i: Int, _ body: (UnsafeBufferPointer<Float>) -> R) -> R {
            switch self {
            case .arrays(let maps): maps[i].withUnsafeBufferPointer(body)
            case .store(let store): body(store[i])
            }
        }
    }
}

/// The maps of a test set in one allocation of 2 MB pages, which an evaluation keeps from scoring to the pixel
/// metrics. Kept as arrays, tire's 112 maps of 256 KB took 7,200 page faults where they were first written, and
/// the arrays of later images left the holes that the images read next then missed, faulting in fresh pages too.
final class MapStore {
    let count: Int
    let pixels: Int
    private let base: UnsafeMutablePointer<Float>

    init(count: Int, pixels: Int) {
        precondition(count >= 0 && pixels > 0, "\(count) maps of \(pixels) pixels")
        self.count = count
        self.pixels = pixels
        let page = 2 << 20, bytes = max(count * pixels * MemoryLayout<Float>.stride, 1)
        let whole = (bytes + page - 1) / page * page
        let raw = UnsafeMutableRawPointer.allocate(byteCount: whole, alignment: page)
        adviseHugePages(UnsafeMutableRawBufferPointer(start: raw, count: whole).bindMemory(to: UInt8.self))
        base = raw.bindMemory(to: Float.self, capacity: count * pixels)
    }

    deinit { base.deallocate() }

    /// Map `i`, written by `store(_:at:)` first.
    subscript(i: Int) -> UnsafeBufferPointer<Float> {
        precondition(i >= 0 && i < count, "map \(i) of \(count)")
        return UnsafeBufferPointer(start: base + i * pixels, count: pixels)
    }

    func store(_ map: [Float], at i: Int) {
        precondition(i >= 0 && i < count && map.count == pixels, "map \(i) of \(count) with \(map.count) pixels, expected \(pixels)")
        map.withUnsafeBufferPointer { (base + i * pixels).update(from: $0.baseAddress!, count: pixels) }
    }
}

/// Asks for 2 MB pages for the untouched memory of `buffer` (Linux's transparent huge pages are given on request
/// here).
func adviseHugePages<T>(_ buffer: UnsafeMutableBufferPointer<T>) {
    #if os(Linux)
    let huge = 2 << 20, base = Int(bitPattern: buffer.baseAddress)
    let start = (base + huge - 1) / huge * huge, end = (base + buffer.count * MemoryLayout<T>.stride) / huge * huge
    if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE) }
    #endif
}
