import CKernels

/// Max pooling with padding that never wins (as -inf). Ties go to the first window position in scan
/// order, as torch's CPU kernel does, so gradients are routed to the same input.
///
/// The forward pass takes maxima separably (the window's rows, then its columns). Inference stops
/// there; in training (`recordsArgmax`) it also records where each window's first maximum lies, so
/// that the backward pass never reads the input again (the ResNet stems lend it out, see `Stem`). The
/// ResNets' 3x3 stride-2 pooling does both in one AVX-512 pass, window by window in scan order.
public final class MaxPool2d {
    public let kernel: Int
    public let stride: Int
    public let padding: Padding
    public let output = Tensor(c: 0, n: 0, h: 0, w: 0)
    public let inputGrad = Tensor(c: 0, n: 0, h: 0, w: 0)
    public var recordsArgmax = false
    private var rowMax: [Float] = []
    /// Per output, the offset of its window's first maximum from the window's clipped corner, as
    /// row * kernel + column (a kernel of at most 15 fits a byte); a raw buffer, written by parallel chunks.
    private var argmax: UnsafeMutablePointer<UInt8> = .allocate(capacity: 1)
    private var argmaxCapacity = 1
    /// The input shape of the last recording forward: the backward's output shape.
    private var inputShape = (c: 0, n: 0, h: 0, w: 0)

    public init(kernel: Int, stride: Int, padding: Padding) {
        precondition(kernel * kernel <= 256, "a window offset must fit a byte")
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }

    deinit { argmax.deallocate() }

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
        let planes = x.c * x.n, inPlane = x.h * x.w, outPlane = oh * ow
        if recordsArgmax && usesAVX512 {
            // One pass for both: the maxima and where they lie (the portable path's separate scan took 2.6 % of a
            // ResNet-18 training step).
            let at = argmaxBuffer(for: x)
            parallelFor(planes, work: x.count) { range in
                stpm_maxpool3s2_argmax_avx512(x.data + range.lowerBound * inPlane, range.count, inPlane, x.h, x.w, padding.top,
                                              padding.left, output.data + range.lowerBound * outPlane, outPlane, oh, ow,
                                              at + range.lowerBound * outPlane, outPlane)
            }
            return output
        }
        let perThread = planeScratch(w: x.w, ow: ow), threads = Parallelism.threads
        if rowMax.count < threads * perThread { rowMax = .init(repeating: 0, count: threads * perThread) }
        rowMax.withUnsafeMutableBufferPointer { rm in
            let scratch = rm.baseAddress!
            parallelChunks(planes, work: x.count) { chunk, range in
                pool(planes: x.data + range.lowerBound * inPlane, range.count, stride: inPlane, h: x.h, w: x.w, padTop: padding.top,
                     output.data + range.lowerBound * outPlane, stride: outPlane, oh: oh, ow: ow, scratch: scratch + chunk * perThread)
            }
        }
        if recordsArgmax { recordArgmax(x) }
        return output
    }

    /// The ResNets' 3x3 stride-2 pooling has its own kernel (maxpool_avx512.c).
    private var usesAVX512: Bool { InstructionSet.avx512 && kernel == 3 && stride == 2 && padding.left <= 2 && padding.top <= 2 }

    /// Floats of scratch `pool(planes:...)` needs for planes `w` wide pooled to `ow` columns.
    func planeScratch(w: Int, ow: Int) -> Int { usesAVX512 ? stpm_maxpool3s2_scratch(w, ow) : w }

    /// Pools `count` h x w planes (or bands of rows of them), `stride` floats apart, into oh x ow planes
    /// `dstStride` floats apart, `padTop` rows of padding above each (the pooling's own, or none for a band
    /// that starts at a window's first row; at most the pooling's).
    func pool(planes src: UnsafePointer<Float>, _ count: Int, stride: Int, h: Int, w: Int, padTop: Int,
              _ dst: UnsafeMutablePointer<Float>, stride dstStride: Int, oh: Int, ow: Int, scratch m: UnsafeMutablePointer<Float>) {
        precondition(padTop <= padding.top, "a band cannot be padded more than the plane")
        if usesAVX512 {
            stpm_maxpool3s2_avx512(src, count, stride, h, w, padTop, padding.left, dst, dstStride, oh, ow, m)
            return
        }
        for p in 0..<count {
            pool(plane: src + p * stride, h: h, w: w, padTop: padTop, dst + p * dstStride, oh: oh, ow: ow, scratch: m)
        }
    }

    /// The portable path for one plane: each output row's window rows, then its columns.
    private func pool(plane src: UnsafePointer<Float>, h: Int, w: Int, padTop: Int, _ dst: UnsafeMutablePointer<Float>, oh: Int, ow: Int,
                      scratch m: UnsafeMutablePointer<Float>) {
        for oy in 0..<oh {
            let ys = window(oy, pad: padTop, limit: h)
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

    /// The record for a forward on `x` (whose output is sized): kept until the next recording forward.
    private func argmaxBuffer(for x: Tensor) -> UnsafeMutablePointer<UInt8> {
        inputShape = (x.c, x.n, x.h, x.w)
        if argmaxCapacity < output.count {
            argmax.deallocate()
            argmaxCapacity = output.count
            argmax = .allocate(capacity: argmaxCapacity)
        }
        return argmax
    }

    private func recordArgmax(_ x: Tensor) {
        let at = argmaxBuffer(for: x)
        let planes = x.c * x.n, inPlane = x.h * x.w, oh = output.h, ow = output.w
        parallelFor(planes, work: x.count) { range in
        for p in range {
            let src = x.data + p * inPlane, record = at + p * oh * ow
            for oy in 0..<oh {
                let ys = window(oy, pad: padding.top, limit: x.h)
                for ox in 0..<ow {
                    let xs = window(ox, pad: padding.left, limit: x.w)
                    var best = -Float.infinity, offset = 0
                    for yy in ys {
                        for xx in xs where src[yy * x.w + xx] > best {
                            best = src[yy * x.w + xx]; offset = (yy - ys.lowerBound) * kernel + xx - xs.lowerBound
                        }
                    }
                    record[oy * ow + ox] = UInt8(offset)
                }
            }
        }
        }
    }

    /// dL/dx of the last recording forward into `inputGrad`, or into `into`.
    @discardableResult
    public func backward(_ dy: Tensor, into target: Tensor? = nil) -> Tensor {
        precondition(recordsArgmax, "max-pool backward needs a forward that recorded its argmax")
        let (c, n, h, w) = inputShape
        precondition(dy.c == c && dy.n == n && dy.h == output.h && dy.w == output.w, "max-pool gradient shape mismatch")
        let inputGrad = target ?? self.inputGrad
        inputGrad.resize(c: c, n: n, h: h, w: w)
        let planes = c * n, inPlane = h * w, at = UnsafePointer(argmax), k = kernel
        // Each recorded offset's distance from its window's corner in the plane, looked up: dividing by the kernel
        // for every output cost as much as the rest of the scatter.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: k * k) { taps in
            for t in 0..<k * k { taps[t] = t / k * w + t % k }
            let tap = UnsafePointer(taps.baseAddress!)
            parallelFor(planes, work: inputGrad.count) { range in
                for p in range {
                    let g = dy.data + p * dy.plane, d = inputGrad.data + p * inPlane, record = at + p * dy.plane
                    // Zeroed here, plane by plane on both threads, while the scatter after it finds the plane in
                    // cache: a zero() of the whole gradient first (33 MB for a ResNet stem at batch 8) ran on one thread.
                    d.update(repeating: 0, count: inPlane)
                    for oy in 0..<dy.h {
                        let corner = d + window(oy, pad: padding.top, limit: h).lowerBound * w, row = oy * dy.w
                        for ox in 0..<dy.w {
                            corner[window(ox, pad: padding.left, limit: w).lowerBound + tap[Int(record[row + ox])]] += g[row + ox]
                        }
                    }
                }
            }
        }
        return inputGrad
    }
}
