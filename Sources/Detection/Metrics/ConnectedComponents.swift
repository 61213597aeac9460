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
    var sizes: [Int] = []
    var stack: [Int] = []
    for seed in 0..<mask.count where mask[seed] && labels[seed] == 0 {
        let label = Int32(sizes.count + 1)
        labels[seed] = label
        stack.append(seed)
        var size = 0
        while let p = stack.popLast() {
            size += 1
            let x = p % width, y = p / width
            for ny in max(y - 1, 0)...min(y + 1, height - 1) {
                for nx in max(x - 1, 0)...min(x + 1, width - 1) {
                    let q = ny * width + nx
                    if mask[q] && labels[q] == 0 {
                        labels[q] = label
                        stack.append(q)
                    }
                }
            }
        }
        sizes.append(size)
    }
    return ConnectedComponents(labels: labels, count: sizes.count, sizes: sizes)
}
