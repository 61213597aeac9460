/// Zero padding on each side of a 2-D input. TensorFlow "SAME" padding is asymmetric (the extra
/// row/column goes to the bottom/right), which EfficientNet-Lite's weights were trained with.
public struct Padding: Equatable, Sendable {
    public var top: Int, bottom: Int, left: Int, right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top; self.bottom = bottom; self.left = left; self.right = right
    }

    public static func symmetric(_ p: Int) -> Padding { Padding(top: p, bottom: p, left: p, right: p) }
    public static let none = Padding.symmetric(0)

    /// TF "SAME" for one input size: output = ceil(in / stride).
    public static func tfSame(inH: Int, inW: Int, kernel: Int, stride: Int) -> Padding {
        func axis(_ n: Int) -> (Int, Int) {
            let out = (n + stride - 1) / stride
            let total = max((out - 1) * stride + kernel - n, 0)
            return (total / 2, total - total / 2)
        }
        let (t, b) = axis(inH), (l, r) = axis(inW)
        return Padding(top: t, bottom: b, left: l, right: r)
    }
}

/// Output extent of a window of `kernel` sliding with `stride` over a padded axis.
@inline(__always)
func windowCount(_ n: Int, kernel: Int, stride: Int, padBefore: Int, padAfter: Int) -> Int {
    (n + padBefore + padAfter - kernel) / stride + 1
}
