import CKernels
import Numerics

/// Fixed-point coefficients of Pillow's bilinear (triangle) filter for one axis, computed exactly as
/// Pillow's Resample.c does (double precision, C truncation), so the 8-bit results match bit for bit.
struct PillowBilinearAxis {
    static let precisionBits: Int32 = 22

    let outSize: Int
    /// Stride of `weights` per output sample; rows are zero-padded beyond `count`.
    let taps: Int
    let first: [Int]
    let count: [Int]
    let weights: [Int32]

    init(inSize: Int, outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        // Reducing stretches the filter over `scale` input pixels: that is Pillow's antialiasing.
        let filterScale = max(scale, 1.0)
        let support = filterScale
        let inverse = 1.0 / filterScale
        let taps = Int(support.rounded(.up)) * 2 + 1
        var first = [Int](repeating: 0, count: outSize)
        var count = [Int](repeating: 0, count: outSize)
        var weights = [Int32](repeating: 0, count: outSize * taps)
        var k = [Double](repeating: 0, count: taps)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            let xmin = max(Int(center - support + 0.5), 0)
            let n = min(Int(center + support + 0.5), inSize) - xmin
            var sum = 0.0
            for x in 0..<n {
                let t = abs((Double(x + xmin) - center + 0.5) * inverse)
                k[x] = t < 1.0 ? 1.0 - t : 0.0
                sum += k[x]
            }
            for x in 0..<n {
                let w = sum != 0.0 ? k[x] / sum : k[x]
                let scaled = w * Double(1 << Self.precisionBits)
                weights[xx * taps + x] = Int32(w < 0 ? scaled - 0.5 : scaled + 0.5)
            }
            first[xx] = xmin
            count[xx] = n
        }
        self.outSize = outSize
        self.taps = taps
        self.first = first
        self.count = count
        self.weights = weights
    }
}

extension Image8 {
    /// Pillow 13 `Image.resize((width, height), Image.Resampling.BILINEAR)` on this 8-bit image, bit-exact
    /// (antialiased when reducing; two separable passes rounding to uint8 in between).
    public func resizedBilinear(width outWidth: Int, height outHeight: Int) -> Image8 {
        precondition(outWidth > 0 && outHeight > 0, "resize to \(outWidth)x\(outHeight)")
        let needHorizontal = outWidth != width
        let needVertical = outHeight != height
        // Pillow 13's pass order; it changes which rounding happens first, hence single bytes.
        let verticalFirst = needHorizontal && needVertical
            && outHeight < height && 2 * (width - outWidth) < (height - outHeight)
        var image = self
        if verticalFirst {
            image = image.verticalPass(PillowBilinearAxis(inSize: height, outSize: outHeight))
        }
        if needHorizontal {
            image = image.horizontalPass(PillowBilinearAxis(inSize: width, outSize: outWidth))
        }
        if needVertical && !verticalFirst {
            image = image.verticalPass(PillowBilinearAxis(inSize: height, outSize: outHeight))
        }
        return image
    }

    private func horizontalPass(_ axis: PillowBilinearAxis) -> Image8 {
        let c = channels, inRow = width * c, outRow = axis.outSize * c, taps = axis.taps
        if c == 3 && InstructionSet.avx512 {
            // Row by row where the scale is near 1 (the kernel declines wider reaches, writing nothing).
            var done = false
            let out = [UInt8](unsafeUninitializedCapacity: height * outRow) { out, initialized in
                done = stpm_resize_horizontal_rgb_rows_avx512(pixels, width, height, out.baseAddress!, axis.outSize,
                                                              axis.first, axis.count, axis.weights, taps) != 0
                initialized = done ? height * outRow : 0
            }
            if done { return Image8(width: axis.outSize, height: height, channels: c, pixels: out) }
        }
        if c == 3 && InstructionSet.avx512 && axis.outSize >= 2 && 48 * (width + 1) <= Int(Int32.max) {
            // The kernel reads and writes 4 bytes per pixel: past a row's end lies the next row, past the last one
            // the output's spare byte and a copy of the input's last row with one more.
            var out = [UInt8](unsafeUninitializedCapacity: height * outRow + 1) { out, initialized in
                let lastRow = Array(pixels[((height - 1) * inRow)...]) + [0]
                stpm_resize_horizontal_rgb_avx512(pixels, width, height - 1, out.baseAddress!, axis.outSize,
                                                  axis.first, axis.count, axis.weights, taps)
                stpm_resize_horizontal_rgb_avx512(lastRow, width, 1, out.baseAddress! + (height - 1) * outRow, axis.outSize,
                                                  axis.first, axis.count, axis.weights, taps)
                initialized = height * outRow + 1
            }
            out.removeLast()
            return Image8(width: axis.outSize, height: height, channels: c, pixels: out)
        }
        let half: Int32 = 1 << (PillowBilinearAxis.precisionBits - 1)
        let bits = PillowBilinearAxis.precisionBits
        var out = [UInt8](repeating: 0, count: height * outRow)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                axis.weights.withUnsafeBufferPointer { weights in
                    axis.first.withUnsafeBufferPointer { first in
                        axis.count.withUnsafeBufferPointer { count in
                            for y in 0..<height {
                                let row = src.baseAddress! + y * inRow
                                let outPixels = dst.baseAddress! + y * outRow
                                // One loop per channel count keeps the three RGB sums in registers.
                                if c == 3 {
                                    for xx in 0..<axis.outSize {
                                        let k = weights.baseAddress! + xx * taps
                                        let p = row + first[xx] * 3
                                        var r = half, g = half, b = half
                                        for t in 0..<count[xx] {
                                            r &+= Int32(p[3 * t]) &* k[t]
                                            g &+= Int32(p[3 * t + 1]) &* k[t]
                                            b &+= Int32(p[3 * t + 2]) &* k[t]
                                        }
                                        outPixels[3 * xx] = UInt8(clamping: r >> bits)
                                        outPixels[3 * xx + 1] = UInt8(clamping: g >> bits)
                                        outPixels[3 * xx + 2] = UInt8(clamping: b >> bits)
                                    }
                                } else {
                                    for xx in 0..<axis.outSize {
                                        let k = weights.baseAddress! + xx * taps
                                        let p = row + first[xx]
                                        var v = half
                                        for t in 0..<count[xx] {
                                            v &+= Int32(p[t]) &* k[t]
                                        }
                                        outPixels[xx] = UInt8(clamping: v >> bits)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Image8(width: axis.outSize, height: height, channels: c, pixels: out)
    }

    private func verticalPass(_ axis: PillowBilinearAxis) -> Image8 {
        let rowLength = width * channels, taps = axis.taps
        if InstructionSet.avx512 {
            let out = [UInt8](unsafeUninitializedCapacity: axis.outSize * rowLength) { out, initialized in
                stpm_resize_vertical_avx512(pixels, rowLength, out.baseAddress!, axis.outSize,
                                            axis.first, axis.count, axis.weights, taps)
                initialized = axis.outSize * rowLength
            }
            return Image8(width: width, height: axis.outSize, channels: channels, pixels: out)
        }
        var out = [UInt8](repeating: 0, count: axis.outSize * rowLength)
        var acc = [Int32](repeating: 0, count: rowLength)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                acc.withUnsafeMutableBufferPointer { acc in
                    axis.weights.withUnsafeBufferPointer { weights in
                        for yy in 0..<axis.outSize {
                            acc.update(repeating: 1 << (PillowBilinearAxis.precisionBits - 1))
                            for t in 0..<axis.count[yy] {
                                let row = src.baseAddress! + (axis.first[yy] + t) * rowLength
                                let k = weights[yy * taps + t]
                                for i in 0..<rowLength {
                                    acc[i] &+= Int32(row[i]) &* k
                                }
                            }
                            let outRow = dst.baseAddress! + yy * rowLength
                            for i in 0..<rowLength {
                                outRow[i] = UInt8(clamping: acc[i] >> PillowBilinearAxis.precisionBits)
                            }
                        }
                    }
                }
            }
        }
        return Image8(width: width, height: axis.outSize, channels: channels, pixels: out)
    }
}
