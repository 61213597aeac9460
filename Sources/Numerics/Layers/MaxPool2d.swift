/// Max pooling with padding that never wins (as -inf). Ties go to the first window position in scan
/// order, as torch's CPU kernel does, so gradients are routed to the same input.
public final class MaxPool2d {
    public let kernel: Int
    public let stride: Int
    public let padding: Padding
    public let output = Tensor(c: 0, n: 0, h: 0, w: 0)
    public let inputGrad = Tensor(c: 0, n: 0, h: 0, w: 0)
    private var argmax: [Int32] = []

    public init(kernel: Int, stride: Int, padding: Padding) {
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let oh = windowCount(x.h, kernel: kernel, stride: stride, padBefore: padding.top, padAfter: padding.bottom)
        let ow = windowCount(x.w, kernel: kernel, stride: stride, padBefore: padding.left, padAfter: padding.right)
        output.resize(c: x.c, n: x.n, h: oh, w: ow)
        if argmax.count < output.count { argmax = .init(repeating: 0, count: output.count) }
        let planes = x.c * x.n, inPlane = x.h * x.w, outPlane = oh * ow
        argmax.withUnsafeMutableBufferPointer { am in
            for p in 0..<planes {
                let src = x.data + p * inPlane, dst = output.data + p * outPlane
                for oy in 0..<oh {
                    let y0 = max(oy * stride - padding.top, 0), y1 = min(oy * stride - padding.top + kernel, x.h)
                    for ox in 0..<ow {
                        let x0 = max(ox * stride - padding.left, 0), x1 = min(ox * stride - padding.left + kernel, x.w)
                        var best = -Float.infinity, at = y0 * x.w + x0
                        for yy in y0..<y1 {
                            for xx in x0..<x1 where src[yy * x.w + xx] > best {
                                best = src[yy * x.w + xx]; at = yy * x.w + xx
                            }
                        }
                        dst[oy * ow + ox] = best
                        am[p * outPlane + oy * ow + ox] = Int32(at)
                    }
                }
            }
        }
        return output
    }

    @discardableResult
    public func backward(_ x: Tensor, _ dy: Tensor) -> Tensor {
        inputGrad.resize(c: x.c, n: x.n, h: x.h, w: x.w)
        inputGrad.zero()
        let planes = x.c * x.n, inPlane = x.h * x.w, outPlane = dy.h * dy.w
        argmax.withUnsafeBufferPointer { am in
            for p in 0..<planes {
                let g = dy.data + p * outPlane, d = inputGrad.data + p * inPlane
                for i in 0..<outPlane { d[Int(am[p * outPlane + i])] += g[i] }
            }
        }
        return inputGrad
    }
}
