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
