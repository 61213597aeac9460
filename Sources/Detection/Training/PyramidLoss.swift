import Numerics

/// STPM's training loss: per pyramid level, sum over channels of (t̂ - ŝ)^2 averaged over the batch's
/// positions (no 0.5, as the official code), t̂ and ŝ the channel-normalised teacher and student
/// features; levels summed with weight 1.
public final class PyramidLoss {
    let studentNorms = [ChannelNormalize(), ChannelNormalize(), ChannelNormalize()]
    let normalizedGrads = [Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0)]

    public init() {}

    /// Returns the three level losses and leaves dL/d(student tap) for each level in `studentGrads`.
    /// - Parameter teacher: the teacher taps already channel-normalised (they are cached that way).
    public func forwardBackward(teacher: [Tensor], student: [Tensor]) -> [Double] {
        var losses: [Double] = []
        for l in 0..<3 {
            let t = teacher[l], s = studentNorms[l].forward(student[l])
            precondition(t.sameShape(s), "teacher and student taps differ in shape at level \(l + 1)")
            let g = normalizedGrads[l]
            g.resize(c: s.c, n: s.n, h: s.h, w: s.w)
            let positions = Float(s.rowLength)
            let scale = -2 / positions
            var total = 0.0
            let tp = t.data, sp = s.data, gp = g.data
            var i = 0
            let count = s.count
            while i < count {
                let end = min(i + 4096, count)
                var acc: Float = 0
                for j in i..<end {
                    let d = tp[j] - sp[j]
                    acc += d * d
                    gp[j] = scale * d
                }
                total += Double(acc)
                i = end
            }
            losses.append(total / Double(positions))
            studentNorms[l].backward(g, into: g)
        }
        return losses
    }

    /// dL/d(student tap) per level, written over the normalised gradients (one tensor per level, not two).
    public var studentGrads: [Tensor] { normalizedGrads }
}
