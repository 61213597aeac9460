import Numerics

/// STPM's anomaly map: per level 0.5 * sum_c (t̂ - ŝ)^2 at each position, bilinearly upsampled
/// (align_corners = false) to the input size, multiplied across levels. The image score is its max.
public final class AnomalyMapper {
    public let height: Int
    public let width: Int
    private let norms = [ChannelNormalize(), ChannelNormalize(), ChannelNormalize()]
    private var levelMaps: [[Float]] = [[], [], []]
    private var upsampled: [Float] = []
    /// The final maps, one plane of height x width per image.
    public private(set) var maps: [Float] = []
    private var upsamplers: [BilinearUpsample?] = [nil, nil, nil]

    public init(height: Int, width: Int) { self.height = height; self.width = width }

    /// - Parameter teacher: channel-normalised teacher taps; `student`: raw student taps.
    public func compute(teacher: [Tensor], student: [Tensor], keepLevels: Bool = false) -> (maps: [Float], levels: [[Float]]) {
        let n = student[0].n, plane = height * width
        if maps.count != n * plane { maps = .init(repeating: 1, count: n * plane); upsampled = maps }
        maps.withUnsafeMutableBufferPointer { m in m.baseAddress!.update(repeating: 1, count: n * plane) }
        var kept: [[Float]] = []
        for l in 0..<3 {
            let t = teacher[l], s = norms[l].forward(student[l])
            let positions = s.rowLength
            if levelMaps[l].count != positions { levelMaps[l] = .init(repeating: 0, count: positions) }
            levelMaps[l].withUnsafeMutableBufferPointer { lm in
                lm.baseAddress!.update(repeating: 0, count: positions)
                for c in 0..<s.c {
                    let tp = t.data + c * positions, sp = s.data + c * positions
                    for i in 0..<positions { let d = tp[i] - sp[i]; lm[i] += d * d }
                }
                for i in 0..<positions { lm[i] *= 0.5 }
            }
            if upsamplers[l]?.inH != s.h || upsamplers[l]?.inW != s.w || upsamplers[l]?.outH != height {
                upsamplers[l] = BilinearUpsample(inH: s.h, inW: s.w, outH: height, outW: width)
            }
            let up = upsamplers[l]!
            levelMaps[l].withUnsafeBufferPointer { src in
                upsampled.withUnsafeMutableBufferPointer { dst in up.forward(src.baseAddress!, dst.baseAddress!, planes: n) }
            }
            if keepLevels { kept.append(levelMaps[l]); kept.append(upsampled) }
            for i in 0..<(n * plane) { maps[i] *= upsampled[i] }
        }
        return (maps, kept)
    }

    /// Max of each image's map.
    public func scores() -> [Float] {
        let plane = height * width
        return (0..<(maps.count / plane)).map { i in maps[(i * plane)..<((i + 1) * plane)].max() ?? 0 }
    }
}
