/// Max pooling with padding that never wins (as -inf). Ties go to the first window position in scan
/// order, as torch's CPU kernel does, so gradients are routed to the same input.
///
/// The forward pass only takes maxima (separably: the window's rows, then its columns), with no
/// argmax: inference never needs one. The backward pass finds each window's first maximum in `x`.
public final class MaxPool2d {
    public let kernel: Int
    public let stride: Int
    public let padding: Padding
    public let output = Tensor(c: 0, n: 0, h: 0, w: 0)
    public let inputGrad = Tensor(c: 0, n: 0, h: 0, w: 0)
    private var rowMax: [Float] = []

    public init(kernel: Int, stride: Int, padding: Padding) {
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }

    /// Input rows and columns of output (oy, ox)'s window, clipped to the image.
    @inline(__always)
    private func window(_ o: Int, pad: Int, limit: Int) -> Range<Int> {
        max(o * stride - pad, 0)..<min(o * stride - pad + kernel, limit)
    }

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let oh = windowCount(x.h, kernel: kernel, stride: stride, padBefore: padding.top, padAfter: padding.bottom)
        let ow = windowCount(x.w, kernel: kernel, stride: stride, padBefore: padding.left, padAfter: padding.right)
        output.resize(c: x.c, n: x.n, h: oh, w: ow)
        if rowMax.count < x.w { rowMax = .init(repeating: 0, count: x.w) }
        let planes = x.c * x.n, inPlane = x.h * x.w, outPlane = oh * ow, w = x.w
        rowMax.withUnsafeMutableBufferPointer { rm in
            let m = rm.baseAddress!
            for p in 0..<planes {
                let src = x.data + p * inPlane, dst = output.data + p * outPlane
                for oy in 0..<oh {
                    let ys = window(oy, pad: padding.top, limit: x.h)
                    m.update(from: src + ys.lowerBound * w, count: w)
                    for yy in ys.dropFirst() {
                        let r = src + yy * w
                        for i in 0..<w { m[i] = max(m[i], r[i]) }
                    }
                    for ox in 0..<ow {
                        let xs = window(ox, pad: padding.left, limit: w)
                        var best = m[xs.lowerBound]
                        for xx in xs.dropFirst() { best = max(best, m[xx]) }
                        dst[oy * ow + ox] = best
                    }
                }
            }
        }
        return output
    }

    /// dL/dx into `inputGrad`, or into `into`.
    @discardableResult
    public func backward(_ x: Tensor, _ dy: Tensor, into target: Tensor? = nil) -> Tensor {
        let inputGrad = target ?? self.inputGrad
        inputGrad.resize(c: x.c, n: x.n, h: x.h, w: x.w)
        inputGrad.zero()
        let planes = x.c * x.n, inPlane = x.h * x.w
        parallelFor(planes, work: x.count) { range in
        for p in range {
            let src = x.data + p * inPlane, g = dy.data + p * dy.plane, d = inputGrad.data + p * inPlane
            for oy in 0..<dy.h {
                let ys = window(oy, pad: padding.top, limit: x.h)
                for ox in 0..<dy.w {
                    let xs = window(ox, pad: padding.left, limit: x.w)
                    var best = -Float.infinity, at = ys.lowerBound * x.w + xs.lowerBound
                    for yy in ys {
                        for xx in xs where src[yy * x.w + xx] > best { best = src[yy * x.w + xx]; at = yy * x.w + xx }
                    }
                    d[at] += g[oy * dy.w + ox]
                }
            }
        }
        }
        return inputGrad
    }
}
