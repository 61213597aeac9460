/// Area-averaging resampler: each output pixel is the mean of the source area it covers,
/// weighted by fractional overlap. Exact box downscaling, and plain replication when enlarging.
enum AreaResampler {
    /// Per output index, the (source index, weight) pairs covering it; weights sum to 1.
    static func weights(from n: Int, to m: Int) -> [[(Int, Float)]] {
        let scale = Double(n) / Double(m)
        return (0..<m).map { i in
            let lo = Double(i) * scale, hi = Double(i + 1) * scale
            return (Int(lo)..<min(n, Int(hi.rounded(.up)))).compactMap { j in
                let overlap = min(hi, Double(j + 1)) - max(lo, Double(j))
                return overlap > 1e-9 ? (j, Float(overlap / scale)) : nil
            }
        }
    }

    /// Resamples `channels`-interleaved values from w×h to tw×th, separably.
    static func resample(_ v: [Float], width w: Int, height h: Int, channels c: Int, toWidth tw: Int, toHeight th: Int) -> [Float] {
        let wx = weights(from: w, to: tw), wy = weights(from: h, to: th)
        var rows = [Float](repeating: 0, count: tw * h * c)
        for y in 0..<h {
            for (x, ws) in wx.enumerated() {
                for (sx, wt) in ws {
                    for k in 0..<c { rows[(y * tw + x) * c + k] += v[(y * w + sx) * c + k] * wt }
                }
            }
        }
        var out = [Float](repeating: 0, count: tw * th * c)
        for (y, ws) in wy.enumerated() {
            for (sy, wt) in ws {
                for i in 0..<(tw * c) { out[y * tw * c + i] += rows[sy * tw * c + i] * wt }
            }
        }
        return out
    }

    static func resample(_ image: PixelImage, toWidth tw: Int, toHeight th: Int) -> PixelImage {
        let flat = image.pixels.flatMap { [Float($0.r), Float($0.g), Float($0.b)] }
        let r = resample(flat, width: image.width, height: image.height, channels: 3, toWidth: tw, toHeight: th)
        func byte(_ f: Float) -> UInt8 { UInt8(min(max(f.rounded(), 0), 255)) }
        return PixelImage(width: tw, height: th, pixels: (0..<(tw * th)).map { RGB(byte(r[3 * $0]), byte(r[3 * $0 + 1]), byte(r[3 * $0 + 2])) })
    }

    static func resample(_ map: ScalarMap, toWidth tw: Int, toHeight th: Int) -> ScalarMap {
        ScalarMap(width: tw, height: th, values: resample(map.values, width: map.width, height: map.height, channels: 1, toWidth: tw, toHeight: th))
    }
}
