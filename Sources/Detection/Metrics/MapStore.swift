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

/// The maps of a test set in one allocation, which an evaluation keeps from scoring to the pixel metrics. Kept as
/// arrays, tire's 112 maps of 256 KB took 7,200 page faults where they were first written, and the arrays of later
/// images left the holes that the images read next then missed, faulting in fresh pages too. Small pages, as the
/// sort keys' (`PixelMetrics.sortedKeys`): in 2 MB pages tire's stores took 20-89 ms of CPU, 16-19 ms without.
final class MapStore {
    let count: Int
    let pixels: Int
    private let base: UnsafeMutablePointer<Float>

    init(count: Int, pixels: Int) {
        precondition(count >= 0 && pixels > 0, "\(count) maps of \(pixels) pixels")
        self.count = count
        self.pixels = pixels
        base = .allocate(capacity: max(count * pixels, 1))
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
