import Numerics

/// STPM's training loss: per pyramid level, sum over channels of (t̂ - ŝ)^2 averaged over the batch's
/// positions (no 0.5, as the official code), t̂ and ŝ the channel-normalised teacher and student
/// features; levels summed with weight 1.
public final class PyramidLoss {
    /// Norms of the student taps only: the normalised values are formed as they are read.
    let studentNorms = [ChannelNormalize(), ChannelNormalize(), ChannelNormalize()]
    let normalizedGrads = [Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0)]

    public init() {}

    /// Returns the three level losses and leaves dL/d(student tap) for each level in `studentGrads`.
    /// - Parameter teacher: the teacher taps already channel-normalised (they are cached that way).
    public func forwardBackward<T: TeacherFeatures>(teacher: T, student: [Tensor]) -> [Double] {
        var losses: [Double] = []
        for l in 0..<3 {
            let s = student[l], norm = studentNorms[l]
            precondition(teacher.shape(level: l) == (s.c, s.n, s.h, s.w), "teacher and student taps differ in shape at level \(l + 1)")
            norm.norms(s)
            let g = normalizedGrads[l]
            g.resize(c: s.c, n: s.n, h: s.h, w: s.w)
            let positions = Float(s.rowLength)
            let scale = -2 / positions
            // Sums of 4096 consecutive values (in channel-major order) in Float, then in Double.
            var total = 0.0, acc: Float = 0
            let plane = s.plane, inv = norm.inverseNorms
            for r in 0..<(s.c * s.n) {
                let t = teacher.row(level: l, channel: r / s.n, image: r % s.n), base = r * plane
                let x = s.data + base, iv = inv + (r % s.n) * plane, gp = g.data + base
                var p = 0
                while p < plane {
                    let end = min(plane, p + 4096 - (base + p) % 4096)
                    for q in p..<end {
                        let d = t[q].float - ChannelNormalize.normalized(x[q], iv[q])
                        acc += d * d
                        gp[q] = scale * d
                    }
                    p = end
                    if (base + p) % 4096 == 0 { total += Double(acc); acc = 0 }
                }
            }
            if s.count % 4096 != 0 { total += Double(acc) }
            losses.append(total / Double(positions))
            norm.backward(g, input: s, into: g)
        }
        return losses
    }

    /// dL/d(student tap) per level, written over the normalised gradients (one tensor per level, not two).
    public var studentGrads: [Tensor] { normalizedGrads }
}
