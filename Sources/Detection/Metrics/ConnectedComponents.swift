#if os(Linux)
import Glibc
#else
import Darwin
#endif

/// Connected regions of a binary mask.
public struct ConnectedComponents: Equatable {
    /// Region number of each pixel (row-major), 0 for background, regions numbered 1...count.
    public var labels: [Int32]
    public var count: Int
    /// Pixel count of each region; `sizes[k - 1]` belongs to label k.
    public var sizes: [Int]
}

/// 8-connected component labelling: pixels touching only at a corner belong to the same region, as with
/// `scipy.ndimage.label(mask, structure=np.ones((3, 3)))`, which MVTec's AU-PRO uses to define defects.
/// Regions are numbered in raster order of their first pixel, which reproduces scipy's numbering.
public func connectedComponents8(mask: [Bool], width: Int, height: Int) -> ConnectedComponents {
    precondition(mask.count == width * height, "mask has \(mask.count) pixels, expected \(width)x\(height)")
    var labels = [Int32](repeating: 0, count: mask.count)
    let sizes = labels.withUnsafeMutableBufferPointer { labels in
        labelDefects(mask, width: width, height: height, into: labels.baseAddress!)
    }
    return ConnectedComponents(labels: labels, count: sizes.count, sizes: sizes)
}

/// A mask's 8-connected regions (`connectedComponents8`) as the pixel metrics read them: the defect pixels
/// alone, in raster order, each with its region. A label for every pixel took tire's 112 masks 29 MB,
/// written and faulted in page by page, to mark the few percent of pixels that are defect.
struct DefectRegions: Equatable {
    /// width x height.
    var pixelCount: Int
    /// Raster index of each defect pixel, ascending.
    var pixels: [Int32]
    /// Region of each of `pixels`, 1...count.
    var labels: [Int32]
    var count: Int
    /// Pixel count of each region; `sizes[k - 1]` belongs to label k.
    var sizes: [Int]

    init(mask: [Bool], width: Int, height: Int) {
        precondition(mask.count == width * height, "mask has \(mask.count) pixels, expected \(width)x\(height)")
        pixelCount = mask.count
        // Written only at defect pixels, and read only there.
        let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: max(mask.count, 1))
        defer { scratch.deallocate() }
        sizes = labelDefects(mask, width: width, height: height, into: scratch)
        count = sizes.count
        let defects = sizes.reduce(0, +)
        var pixels = [Int32](), labels = [Int32]()
        pixels.reserveCapacity(defects)
        labels.reserveCapacity(defects)
        mask.withUnsafeBufferPointer { mask in
            forEachDefect(mask) { p in
                pixels.append(Int32(p))
                labels.append(scratch[p])
            }
        }
        self.pixels = pixels
        self.labels = labels
    }
}

/// Writes each defect pixel's region number (raster order of first pixels, from 1) into `labels`, leaving the
/// other entries as they were, and returns the regions' sizes.
private func labelDefects(_ mask: [Bool], width: Int, height: Int, into labels: UnsafeMutablePointer<Int32>) -> [Int] {
    var sizes: [Int] = []
    var stack: [Int] = []
    // Defect pixels not labelled yet: a byte copy of the mask, cleared as pixels are labelled, so that the next
    // seed is the next defect byte left.
    let todo = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(mask.count, 1))
    defer { todo.deallocate() }
    mask.withUnsafeBytes { _ = UnsafeMutableRawBufferPointer(todo).copyMemory(from: $0) }
    forEachDefect(UnsafeBufferPointer(rebasing: todo[..<mask.count])) { seed in
        let label = Int32(sizes.count + 1)
        todo[seed] = 0
        labels[seed] = label
        stack.append(seed)
        var size = 0
        while let p = stack.popLast() {
            size += 1
            let x = p % width, y = p / width
            for ny in max(y - 1, 0)...min(y + 1, height - 1) {
                for nx in max(x - 1, 0)...min(x + 1, width - 1) {
                    let q = ny * width + nx
                    if todo[q] != 0 {
                        todo[q] = 0
                        labels[q] = label
                        stack.append(q)
                    }
                }
            }
        }
        sizes.append(size)
    }
    return sizes
}

/// Calls `body` with the index of each byte that is 1 (a `true`) in ascending order; `memchr` skips the runs of
/// zeros that make up most of a mask. `body` may clear bytes after its index, which are then skipped.
private func forEachDefect<T>(_ mask: UnsafeBufferPointer<T>, _ body: (Int) -> Void) {
    precondition(MemoryLayout<T>.stride == 1)
    guard let base = UnsafeRawPointer(mask.baseAddress) else { return }
    var p = 0
    while p < mask.count, let found = memchr(base + p, 1, mask.count - p) {
        let index = base.distance(to: UnsafeRawPointer(found))
        body(index)
        p = index + 1
    }
}
