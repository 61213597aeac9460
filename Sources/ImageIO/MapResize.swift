extension Image8 {
    /// Pillow's `resize(size, NEAREST)` (for masks). Pillow walks the source coordinate by repeated
    /// addition of in/out from in/out/2, which differs from floor((i + 0.5) * in/out) for some sizes.
    public func resizedNearest(width outWidth: Int, height outHeight: Int) -> Image8 {
        precondition(outWidth > 0 && outHeight > 0, "resize to \(outWidth)x\(outHeight)")
        let columns = pillowNearestIndices(inSize: width, outSize: outWidth)
        let rows = pillowNearestIndices(inSize: height, outSize: outHeight)
        let c = channels
        // Through pointers: an evaluation resizes a mask per test image, and checking each byte's index took
        // 0.07 ms of a tire mask.
        let out = [UInt8](unsafeUninitializedCapacity: outWidth * outHeight * c) { out, initialized in
            pixels.withUnsafeBufferPointer { pixels in
                columns.withUnsafeBufferPointer { columns in
                    for y in 0..<outHeight {
                        let source = pixels.baseAddress! + rows[y] * width * c, target = out.baseAddress! + y * outWidth * c
                        if c == 1 {
                            // Masks; the loop over one channel costs as much as the bounds checks did.
                            for x in 0..<outWidth { target[x] = source[columns[x]] }
                        } else {
                            for x in 0..<outWidth { for ch in 0..<c { target[x * c + ch] = source[columns[x] * c + ch] } }
                        }
                    }
                }
            }
            initialized = outWidth * outHeight * c
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
