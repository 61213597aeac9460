import Foundation

/// A 4-D float tensor stored channel-major: [C, N, H, W].
///
/// Channel-major ("CNHW") is the layout every layer works in because a 1x1 convolution over a whole
/// batch is then a single GEMM on the tensor as it lies (W[O,C] x X[C, N*H*W]), BatchNorm statistics
/// are contiguous rows, and a depthwise convolution walks contiguous planes. NCHW exists only at the
/// edges (image input, tap export) through `fromNCHW` / `toNCHW`.
public final class Tensor {
    public private(set) var c: Int
    public private(set) var n: Int
    public private(set) var h: Int
    public private(set) var w: Int
    public private(set) var capacity: Int
    public private(set) var data: UnsafeMutablePointer<Float>

    public var count: Int { c * n * h * w }
    /// Elements of one channel row (all images, all positions).
    public var rowLength: Int { n * h * w }
    public var plane: Int { h * w }

    public init(c: Int, n: Int, h: Int, w: Int) {
        precondition(c >= 0 && n >= 0 && h >= 0 && w >= 0, "negative tensor dimension")
        self.c = c; self.n = n; self.h = h; self.w = w
        capacity = max(c * n * h * w, 1)
        data = Self.allocate(capacity)
        data.initialize(repeating: 0, count: capacity)
    }

    deinit { data.deallocate() }

    /// Whole cache lines: a GEMM's streaming stores need 64-byte aligned rows. A buffer of `hugePageBytes` and more
    /// (training's whole-batch tensors, 4-50 MB at batch 8) is laid out in whole 2 MiB pages that the kernel is
    /// asked to back with huge pages (`MADV_HUGEPAGE`; this machine's transparent huge pages are opt-in): the
    /// passes stream through these tensors, and with 4 KiB pages every 64 cache lines took a TLB miss. The
    /// floats are the same, only their pages change.
    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = count * MemoryLayout<Float>.stride, page = 2 << 20
        guard bytes >= hugePageBytes else {
            return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64).bindMemory(to: Float.self, capacity: count)
        }
        let whole = (bytes + page - 1) / page * page
        let p = UnsafeMutableRawPointer.allocate(byteCount: whole, alignment: page)
        // Only advice: where the kernel has no huge pages to give, the tensor keeps small ones.
        _ = madvise(p, whole, MADV_HUGEPAGE)
        return p.bindMemory(to: Float.self, capacity: count)
    }

    /// Buffers from this size on are laid out for huge pages (two of them: below, the rounding up would cost more).
    static let hugePageBytes = 4 << 20

    /// Changes the shape, reallocating only when the buffer must grow, so that steady-state training
    /// reuses the same memory step after step. Contents are unspecified after a reshape.
    public func resize(c: Int, n: Int, h: Int, w: Int) {
        let need = c * n * h * w
        if need > capacity {
            data.deallocate()
            capacity = need
            data = Self.allocate(need)
            data.initialize(repeating: 0, count: need)
        }
        self.c = c; self.n = n; self.h = h; self.w = w
    }

    public func sameShape(_ o: Tensor) -> Bool { c == o.c && n == o.n && h == o.h && w == o.w }

    public func zero() { data.update(repeating: 0, count: count) }

    public subscript(ci: Int, ni: Int, y: Int, x: Int) -> Float {
        get { data[((ci * n + ni) * h + y) * w + x] }
        set { data[((ci * n + ni) * h + y) * w + x] = newValue }
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Builds a tensor from NCHW values (the layout of PyTorch and of safetensors files).
    public static func fromNCHW(_ v: [Float], n: Int, c: Int, h: Int, w: Int) -> Tensor {
        precondition(v.count == n * c * h * w, "value count does not match shape")
        let t = Tensor(c: c, n: n, h: h, w: w)
        t.loadNCHW(v)
        return t
    }

    public func loadNCHW(_ v: [Float]) {
        precondition(v.count == count, "value count does not match shape")
        let p = plane
        v.withUnsafeBufferPointer { src in
            for ni in 0..<n {
                for ci in 0..<c {
                    (data + (ci * n + ni) * p).update(from: src.baseAddress! + (ni * c + ci) * p, count: p)
                }
            }
        }
    }

    public func toNCHW() -> [Float] {
        var out = [Float](repeating: 0, count: count)
        let p = plane
        out.withUnsafeMutableBufferPointer { dst in
            for ni in 0..<n {
                for ci in 0..<c {
                    (dst.baseAddress! + (ni * c + ci) * p).update(from: data + (ci * n + ni) * p, count: p)
                }
            }
        }
        return out
    }
}
