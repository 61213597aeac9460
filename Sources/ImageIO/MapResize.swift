extension Image8 {
    /// Pillow's `resize(size, NEAREST)` (for masks). Pillow walks the source coordinate by repeated
    /// addition of in/out from in/out/2, which differs from floor((i + 0.5) * in/out) for some sizes.
    public func resizedNearest(width outWidth: Int, height outHeight: Int) -> Image8 {
        precondition(outWidth > 0 && outHeight > 0, "resize to \(outWidth)x\(outHeight)")
        let columns = pillowNearestIndices(inSize: width, outSize: outWidth)
        let rows = pillowNearestIndices(inSize: height, outSize: outHeight)
        let c = channels
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * c)
        for y in 0..<outHeight {
            let srcRow = rows[y] * width * c
            let dstRow = y * outWidth * c
            for x in 0..<outWidth {
                for ch in 0..<c {
                    out[dstRow + x * c + ch] = pixels[srcRow + columns[x] * c + ch]
                }
            }
        }
        return Image8(width: outWidth, height: outHeight, channels: c, pixels: out)
    }
}

func pillowNearestIndices(inSize: Int, outSize: Int) -> [Int] {
    let step = Double(inSize) / Double(outSize)
    var position = step * 0.5
    var indices = [Int](repeating: 0, count: outSize)
    for i in 0..<outSize {
        indices[i] = min(Int(position), inSize - 1)
        position += step
    }
    return indices
}

/// Bilinear resize of a row-major float map like torch `F.interpolate(mode: "bilinear", align_corners: false)`
/// without antialiasing: source coordinate max((i + 0.5) * in/out - 0.5, 0), neighbours clamped to the edge.
/// Weights and sums are in double, matching the float64 reference maps to float32 rounding.
public func resizeBilinear(_ values: [Float], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [Float] {
    precondition(values.count == width * height, "resizeBilinear: \(values.count) values for \(width)x\(height)")
    precondition(width > 0 && height > 0 && toWidth > 0 && toHeight > 0, "resizeBilinear to \(toWidth)x\(toHeight)")
    let xs = LinearTaps(inSize: width, outSize: toWidth)
    let ys = LinearTaps(inSize: height, outSize: toHeight)
    var out = [Float](repeating: 0, count: toWidth * toHeight)
    values.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for y in 0..<toHeight {
                let top = src.baseAddress! + ys.lower[y] * width
                let bottom = src.baseAddress! + ys.upper[y] * width
                let wy = ys.fraction[y]
                for x in 0..<toWidth {
                    let x0 = xs.lower[x], x1 = xs.upper[x], wx = xs.fraction[x]
                    let t = Double(top[x0]) * (1 - wx) + Double(top[x1]) * wx
                    let b = Double(bottom[x0]) * (1 - wx) + Double(bottom[x1]) * wx
                    dst[y * toWidth + x] = Float(t * (1 - wy) + b * wy)
                }
            }
        }
    }
    return out
}

private struct LinearTaps {
    var lower: [Int]
    var upper: [Int]
    var fraction: [Double]

    init(inSize: Int, outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        lower = [Int](repeating: 0, count: outSize)
        upper = [Int](repeating: 0, count: outSize)
        fraction = [Double](repeating: 0, count: outSize)
        for i in 0..<outSize {
            let source = max((Double(i) + 0.5) * scale - 0.5, 0)
            let i0 = min(Int(source), inSize - 1)
            lower[i] = i0
            upper[i] = min(i0 + 1, inSize - 1)
            fraction[i] = source - Double(i0)
        }
    }
}
