import Foundation
import CKernels

/// 2-D convolution (cross-correlation, as torch) over channel-major tensors.
///
/// Dense convolutions are im2col + GEMM by bands of output rows (`bandedIm2colForward`; the backward's by
/// bands of images whose column matrix fits `Workspace.columnLimit`); a 1x1 stride-1 convolution skips
/// im2col because a channel-major tensor already is its column matrix; stride-1 3x3 convolutions
/// padded by 1 use Winograd F(4x4, 3x3) where that is faster (Winograd.swift). Depthwise convolutions
/// (groups == channels) use their own kernels in DepthwiseConv.swift. In the backward, the input gradient (a
/// convolution of dL/dy of the same kind) uses Winograd where the forward would, and the weight gradient of those
/// convolutions too where `preferredWeightGradientAlgorithm` says so (both im2col-based otherwise).
public final class Conv2d {
    public enum PaddingMode: Equatable, Sendable {
        case fixed(Padding)
        /// TensorFlow "SAME", resolved for each input size.
        case tfSame
    }

    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let groups: Int
    public let padding: PaddingMode
    public let weight: Parameter
    public let bias: Parameter?
    public let output = Tensor(c: 0, n: 0, h: 0, w: 0)
    /// Output positions per image of the last forward, also where it wrote no `output` (the inner
    /// convolutions of a block run band by band, `InvertedResidualBands`): what the work counts read.
    public internal(set) var outputPlane = 0
    public let inputGrad = Tensor(c: 0, n: 0, h: 0, w: 0)

    public var isDepthwise: Bool { groups > 1 }

    /// How a forward pass computes a dense convolution.
    enum Algorithm { case im2col, winograd }

    private let winogradFilter = WinogradFilter()
    let winogradInputGradientFilter = WinogradFilter(forInputGradient: true)
    /// The weights (im2col and 1x1 GEMMs), packed for the AVX-512 GEMM (Winograd's U is written packed).
    private let packedWeight = PackedOperand()
    /// The weights as a channels-last convolution's right operand (`InvertedResidualBands`' expansions).
    private let weightStrips = PackedOperand()
    private let tapMajor = TransposedWeights()

    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1,
                padding: PaddingMode, groups: Int = 1, bias: Bool = false) {
        precondition(groups == 1 || (groups == inChannels && groups == outChannels),
                     "only dense and depthwise convolutions are supported")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.groups = groups
        self.padding = padding
        weight = Parameter(name: name + ".weight", shape: [outChannels, inChannels / groups, kernel, kernel])
        self.bias = bias ? Parameter(name: name + ".bias", shape: [outChannels]) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    func geometry(_ x: Tensor) -> ConvGeometry { geometry(c: x.c, n: x.n, h: x.h, w: x.w) }

    func geometry(c: Int, n: Int, h: Int, w: Int) -> ConvGeometry {
        let pad: Padding
        switch padding {
        case .fixed(let p): pad = p
        case .tfSame: pad = .tfSame(inH: h, inW: w, kernel: kernel, stride: stride)
        }
        return ConvGeometry(c: c, n: n, h: h, w: w, kh: kernel, kw: kernel, stride: stride, pad: pad)
    }

    /// The weights as the AVX-512 GEMM's left operand (m = outChannels, k = the rest), packed once per
    /// weight version; nil on the portable path.
    func packedWeights() -> UnsafePointer<Float>? {
        packedWeight.packed(weight.value, m: outChannels, k: weight.count / outChannels, version: weight.version)
    }

    /// The transposed weights (k = the rest, n = outChannels: one column per output channel) as the AVX-512
    /// GEMM's right operand strips, once per weight version; nil on the portable path.
    func stripWeights() -> UnsafePointer<Float>? {
        weightStrips.strips(transposing: weight.value, n: outChannels, k: weight.count / outChannels, version: weight.version)
    }

    /// A depthwise convolution's taps tap-major ([k * k][channels]) for the channels-last kernel, transposed
    /// once per weight version: the banded inference forward reads them for every image.
    func tapMajorWeights() -> UnsafePointer<Float> {
        tapMajor.transposed(weight.value, rows: outChannels, columns: weight.count / outChannels, version: weight.version)
    }

    /// A 1x1 stride-1 unpadded convolution reads its input as the column matrix directly.
    var isPointwise: Bool {
        guard kernel == 1 && stride == 1 else { return false }
        if case .fixed(let p) = padding { return p == .none }
        return true
    }

    /// Whether `forward` may write its output over its residual (`into` the residual tensor itself): a 1x1
    /// stride-1 convolution on the AVX-512 GEMM whose depth takes one pass (k <= STPM_SGEMM_KC), where each
    /// tile's epilogue reads its residual before it stores the sum in the same place. OpenBLAS writes the
    /// product over C before the epilogue pass, and the Winograd and depthwise kernels add a residual in a
    /// pass after theirs, so those need another tensor.
    public var joinsInPlace: Bool { isPointwise && InstructionSet.avx512 && inChannels <= Int(STPM_SGEMM_KC) }

    /// Winograd F(4x4, 3x3) computes exactly the stride-1 3x3 dense convolutions padded by 1 on every side.
    func admitsWinograd(_ g: ConvGeometry) -> Bool {
        !isDepthwise && kernel == 3 && stride == 1 && g.pad == .symmetric(1)
    }

    /// The convolution, its bias, `residual` (a tensor of the output's shape: the shortcut of a residual
    /// block whose join this convolution ends) and then `activation`, applied as the output is written (the
    /// GEMM's epilogue, the Winograd output transform, the depthwise kernel; a residual on the last two in a
    /// pass after them). The output goes to `output`, or to `target`: a tensor a block lends for an output it
    /// reads only briefly (see `ConvUnit.forwardIntoJoin`).
    @discardableResult
    public func forward(_ x: Tensor, _ ws: Workspace, activation: Activation = .identity, adding residual: Tensor? = nil,
                        into target: Tensor? = nil) -> Tensor {
        forward(x, ws, epilogue: GemmEpilogue(bias: bias.map { UnsafePointer($0.value) }, activation: activation),
                residual: residual, algorithm: nil, into: target ?? output)
    }

    /// The convolution, then y = activation(scale[o] * conv + shift[o]) per output channel in place of the
    /// bias: an eval-mode BatchNorm folded into the output's epilogue (`scale` and `shift` hold one entry
    /// per output channel). Rounds as the convolution, BatchNorm and activation run one after another.
    @discardableResult
    public func forward(_ x: Tensor, _ ws: Workspace, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                        activation: Activation, adding residual: Tensor? = nil, into target: Tensor? = nil) -> Tensor {
        precondition(bias == nil, "\(weight.name): a scaled epilogue replaces the bias")
        return forward(x, ws, epilogue: GemmEpilogue(scale: scale, bias: shift, activation: activation), residual: residual,
                       algorithm: nil, into: target ?? output)
    }

    /// A bias-free depthwise convolution of the values `input` stands for (a train-mode BatchNorm's activated
    /// output, computed as they are read), into `output` or `target`; `starting` and `finished` as in
    /// `depthwiseForward`.
    @discardableResult
    public func forward(normalized input: NormalizedTensor, _ ws: Workspace, into target: Tensor? = nil,
                        starting: ((Int) -> Void)? = nil, finished: ((Int) -> Void)? = nil) -> Tensor {
        let x = input.x, output = target ?? self.output
        precondition(isDepthwise && bias == nil, "\(weight.name): only a bias-free depthwise convolution reads a normalised tensor")
        precondition(x.c == inChannels && output !== x, "\(weight.name): input has \(x.c) channels, expected \(inChannels)")
        let g = geometry(x)
        output.resize(c: outChannels, n: x.n, h: g.oh, w: g.ow)
        outputPlane = output.plane
        depthwiseForward(x.data, g, weight.value, nil, .identity, output.data, ws, normalized: input, starting: starting,
                         finished: finished)
        return output
    }

    /// `pool.forward(forward(x, ws))` with `epilogue` as `pool.output`, for inference: the convolution's
    /// output is pooled band by band as the GEMM writes it (`pooledIm2colForward`); `output` is left as it was.
    func pooledForward(_ x: Tensor, _ ws: Workspace, _ epilogue: GemmEpilogue, _ pool: MaxPool2d) -> Tensor {
        precondition(x.c == inChannels, "\(weight.name): input has \(x.c) channels, expected \(inChannels)")
        precondition(!isDepthwise && pool.kernel == 3 && pool.stride == 2, "\(weight.name): only a dense convolution pools, 3x3 stride 2")
        let g = geometry(x)
        outputPlane = g.oh * g.ow
        pool.output.resize(c: outChannels, n: x.n,
                           h: windowCount(g.oh, kernel: 3, stride: 2, padBefore: pool.padding.top, padAfter: pool.padding.bottom),
                           w: windowCount(g.ow, kernel: 3, stride: 2, padBefore: pool.padding.left, padAfter: pool.padding.right))
        let packed = packedWeight.packed(weight.value, m: outChannels, k: g.colRows, version: weight.version)
        Self.pooledIm2colForward(x, g, weights: weight.value, packed, m: outChannels, epilogue, pool, into: pool.output.data, ws)
        return pool.output
    }

    /// As `forward`, with `algorithm` chosen by the caller (tests) instead of `preferredAlgorithm`.
    @discardableResult
    func forward(_ x: Tensor, _ ws: Workspace, activation: Activation, adding residual: Tensor? = nil, algorithm: Algorithm?) -> Tensor {
        forward(x, ws, epilogue: GemmEpilogue(bias: bias.map { UnsafePointer($0.value) }, activation: activation),
                residual: residual, algorithm: algorithm, into: output)
    }

    private func forward(_ x: Tensor, _ ws: Workspace, epilogue: GemmEpilogue, residual: Tensor?, algorithm: Algorithm?,
                         into output: Tensor) -> Tensor {
        precondition(x.c == inChannels, "\(weight.name): input has \(x.c) channels, expected \(inChannels)")
        precondition(output !== x, "\(weight.name): the output cannot overwrite the input")
        let g = geometry(x)
        output.resize(c: outChannels, n: x.n, h: g.oh, w: g.ow)
        outputPlane = output.plane
        var epilogue = epilogue
        if let residual {
            precondition(residual.sameShape(output) && (residual !== output || joinsInPlace),
                         "\(weight.name): the residual must be a tensor of the output's shape, another unless the join runs in place")
            epilogue.residual = UnsafePointer(residual.data)
            epilogue.ldr = output.rowLength
        }
        // The depthwise and Winograd kernels add a bias and activate; a scale or a residual goes in a pass after them.
        let fused = epilogue.scale == nil && epilogue.residual == nil ? epilogue : GemmEpilogue()
        if isDepthwise {
            depthwiseForward(x.data, g, weight.value, fused.bias, fused.activation, output.data, ws)
        } else if admitsWinograd(g) && (algorithm ?? preferredAlgorithm(g)) == .winograd {
            let wg = WinogradGeometry(c: x.c, o: outChannels, n: x.n, h: x.h, w: x.w)
            let (u, packedU) = winogradFilter.transform(of: weight, wg)
            winogradConvolution(x.data, u, packedU, wg, bias: fused.bias, fused.activation, output.data, ws)
        } else {
            let packed = packedWeight.packed(weight.value, m: outChannels, k: g.colRows, version: weight.version)
            if isPointwise {
                gemm(m: outChannels, n: g.colCols, k: g.colRows, a: weight.value, lda: g.colRows, packedA: packed,
                     b: x.data, ldb: g.colCols, c: output.data, ldc: g.colCols, epilogue: epilogue)
            } else {
                bandedIm2colForward(x, g, packed, epilogue, ws, into: output.data)
            }
            return output
        }
        if epilogue.scale != nil || epilogue.residual != nil {
            let row = output.rowLength, out = output.data
            parallelFor(outChannels, work: output.count) { channels in
                epilogue.rows(from: channels.lowerBound).apply(out + channels.lowerBound * row, m: channels.count, n: row, ldc: row)
            }
        }
        return output
    }
}

extension Conv2d {
    /// Floats of column matrix per band (512 KiB, half a core's L2): see `bandedIm2colForward`.
    static let bandFloats = 131_072
    /// Floats of column matrix and convolution rows per band of `pooledIm2colForward` (1 MiB, half of an
    /// Emerald Rapids core's L2): the paired ResNet stems (147 deep, 128 channels, 128 wide) then take 7 new
    /// rows per band where 512 KiB gave 3, and each band also copies the rows the next window shares (one
    /// row of 128 channels) and pools. Thread CPU of the stem pair per image, A B B A x2 at load 7.2-7.9:
    /// 6.18-6.50 -> 5.63-6.29 ms.
    static let pooledBandFloats = 262_144

    /// im2col + GEMM by bands of output rows, one image at a time: each band's columns are written and
    /// then read by the GEMM while they are in the cache. The bands are split between the threads, each
    /// with its own columns and a serial GEMM, whose output columns are the band's.
    func bandedIm2colForward(_ x: Tensor, _ g: ConvGeometry, _ packed: UnsafePointer<Float>?, _ epilogue: GemmEpilogue,
                             _ ws: Workspace, into out: UnsafeMutablePointer<Float>) {
        let oh = g.oh, ow = g.ow, plane = oh * ow, k = g.colRows
        let rows = max(1, min(oh, Self.bandFloats / (k * ow))), perImage = (oh + rows - 1) / rows
        let scratch = ws.threadScratch(k * rows * ow)
        let w = UnsafePointer(weight.value), o = outChannels
        parallelChunks(g.n * perImage, work: o * k * g.colCols / 64) { chunk, bands in
            let cols = scratch[chunk]
            for band in bands {
                let ni = band / perImage, oy0 = band % perImage * rows, oys = oy0..<min(oy0 + rows, oh)
                let width = oys.count * ow, j0 = ni * plane + oy0 * ow
                im2colRows(x.data, g, image: ni, rows: oys, cols)
                serialGemm(m: o, n: width, k: k, a: w, lda: k, packedA: packed, b: cols, ldb: width, c: out + j0, ldc: g.colCols,
                           epilogue: epilogue.columns(from: j0))
            }
        }
    }

    /// im2col + GEMM + 3x3 stride-2 max pooling by bands of output rows: each band's convolution rows are
    /// pooled while they are in the cache, and the full-size output (4 MB per image for the ResNets' stem at
    /// 256 px) is never written nor read back. A pooling window spans three rows and its successor starts two
    /// rows on, so the rows after the last complete window of a band are kept for the next one (usually one row).
    ///
    /// `w` holds the weights of `m` output channels (`packed` as `PackedOperand` packs them), pooled into
    /// `output`, or the first half into `output` and the second into `second` (two stems stacked,
    /// `PairedPooledConvolution`). Each image is one piece of work, or, when there are fewer images than
    /// threads, a few pieces of its pooled rows, each computing the convolution rows its windows read.
    static func pooledIm2colForward(_ x: Tensor, _ g: ConvGeometry, weights w: UnsafePointer<Float>, _ packed: UnsafePointer<Float>?,
                                    m o: Int, _ epilogue: GemmEpilogue, _ pool: MaxPool2d, into output: UnsafeMutablePointer<Float>,
                                    and second: UnsafeMutablePointer<Float>? = nil, _ ws: Workspace) {
        let oh = g.oh, ow = g.ow, k = g.colRows, group = second == nil ? o : o / 2
        let ph = pool.output.h, pw = pool.output.w, pt = pool.padding.top
        precondition(second == nil || 2 * group == o, "two pooled outputs split the channels evenly")
        // New convolution rows per band: at least two, so that each band after the first completes a window.
        let fresh = max(2, Self.pooledBandFloats / ((k + o) * ow))
        let held = fresh + 2, colFloats = k * fresh * ow, bandSize = o * held * ow
        let scratch = ws.threadScratch(colFloats + bandSize + pool.planeScratch(w: ow, ow: pw))
        let parts = min(ph, max(1, (Parallelism.threads + g.n - 1) / g.n))
        parallelChunks(g.n * parts, work: o * k * g.colCols / 64) { chunk, pieces in
            let cols = scratch[chunk], band = cols + colFloats, rowScratch = band + bandSize
            for piece in pieces {
                let ni = piece / parts, part = piece % parts
                let last = ph * (part + 1) / parts, rowEnd = min(oh, 2 * last - pt + 1)
                // The band holds convolution rows base ..< base + count, each channel's held * ow floats apart.
                var p0 = ph * part / parts, base = max(0, 2 * p0 - pt), count = 0
                while p0 < last {
                    let r0 = base + count, r1 = min(r0 + fresh, rowEnd)
                    if r1 > r0 {
                        im2colRows(x.data, g, image: ni, rows: r0..<r1, cols)
                        serialGemm(m: o, n: (r1 - r0) * ow, k: k, a: w, lda: k, packedA: packed, b: cols, ldb: (r1 - r0) * ow,
                                   c: band + count * ow, ldc: held * ow, epilogue: epilogue)
                        count += r1 - r0
                    }
                    // Pooled rows whose window (2p - pt ..< 2p - pt + 3, cut at oh) the band now holds.
                    var p1 = p0
                    while p1 < last && (2 * p1 - pt + 3 <= base + count || base + count == oh) { p1 += 1 }
                    let top = 2 * p0 - pt
                    // All of a pooled output's channels in one call: a band's pooling is one or two rows per channel.
                    for half in 0..<o / group {
                        pool.pool(planes: band + half * group * held * ow, group, stride: held * ow, h: count, w: ow, padTop: base - top,
                                  (half == 0 ? output : second!) + ni * ph * pw + p0 * pw, stride: g.n * ph * pw, oh: p1 - p0, ow: pw,
                                  scratch: rowScratch)
                    }
                    // Keep the rows from the next window's first on.
                    let next = 2 * p1 - pt, keep = base + count - next
                    if keep > 0 {
                        for c in 0..<o {
                            memmove(band + c * held * ow, band + (c * held + count - keep) * ow, keep * ow * MemoryLayout<Float>.stride)
                        }
                    }
                    base = next; count = max(keep, 0); p0 = p1
                }
            }
        }
    }

    /// `STPM_CONV=im2col` turns Winograd off, to compare speed or to rule it out when hunting a numerical difference.
    private static let im2colOnly = ProcessInfo.processInfo.environment["STPM_CONV"] == "im2col"

    /// The faster algorithm for a convolution that admits Winograd, by a rule measured on one 3x3 layer
    /// (C = O) per shape, 1 and 2 threads, batch 1 and 8, release build, im2col time / Winograd time:
    /// - 16 tiles and more with 16 channels and more: Winograd wins, 1.0-1.9x at 16 channels, 1.5-4.2x
    ///   from 32 (64 channels at 64x64, batch 1: 1.9x; 128 at 32x32: 2.5x; 256 at 16x16: 2.2x; those are
    ///   the 3x3 layers of resnet18 and resnet50-1by2 at 256 px);
    /// - fewer tiles (8x8 and 4x4 at batch 1: 4 and 1 tiles): 0.5-1.3x. The 36 GEMMs are then only a
    ///   few columns wide, and packing U_e costs as much as multiplying;
    /// - 8 channels (64x64 at batch 1): 0.8x. The transforms, linear in C + O, outweigh GEMMs that are
    ///   linear in C x O.
    func preferredAlgorithm(_ g: ConvGeometry) -> Algorithm {
        let tiles = g.n * ((g.oh + 3) / 4) * ((g.ow + 3) / 4)
        return !Self.im2colOnly && tiles >= 16 && min(inChannels, outChannels) >= 16 ? .winograd : .im2col
    }

    /// The faster algorithm for the weight gradient of a convolution that admits Winograd, by a rule measured on
    /// one 3x3 layer (C = O) per shape, one thread, im2col time / Winograd time:
    /// - the backbones' layers at a training batch of 8 (128-2048 tiles, 32-256 channels): 2.4-3.9x;
    /// - 32 tiles: 1.2x at 256 channels (16x16, batch 2), 1.4x at 64 (the ResNet-18 reference's 16x16, batch 2);
    /// - 16 tiles and fewer: 0.5-1.0x. Z (36 O C floats, written, read back and transformed whatever the tile
    ///   count) then costs more than the GEMMs save;
    /// - 8 channels with 256 tiles and more: 1.7-2x, so channels set no bound above the transforms' 8 lanes.
    func preferredWeightGradientAlgorithm(_ g: ConvGeometry) -> Algorithm {
        let tiles = g.n * ((g.oh + 3) / 4) * ((g.ow + 3) / 4)
        return !Self.im2colOnly && tiles >= 32 && min(inChannels, outChannels) >= 8 ? .winograd : .im2col
    }
}

/// A convolution's Winograd filter transform, recomputed only when the weights' version moves (SGD steps,
/// loading, BatchNorm folding): at inference it is computed once per model.
final class WinogradFilter {
    /// The input gradient's filter instead: each kernel turned by 180° with inputs and outputs swapped
    /// (`g` then has the forward's output channels as its inputs).
    private let forInputGradient: Bool
    private var u: UnsafeMutablePointer<Float>?
    private var turned: UnsafeMutablePointer<Float>?
    private var count = 0
    private var version = -1
    /// Whether U is written packed: switching paths (`InstructionSet.with`, in tests) makes it again.
    private var isPacked = false

    init(forInputGradient: Bool = false) { self.forInputGradient = forInputGradient }

    deinit { u?.deallocate(); turned?.deallocate() }

    /// U for `winogradConvolution`: on the AVX-512 path written straight in the GEMM's packed layout, returned as both
    /// `u` and `packed` (the GEMM then reads only `packed`), else [36][O][C] with `packed` nil.
    func transform(of weight: Parameter, _ g: WinogradGeometry) -> (u: UnsafePointer<Float>, packed: UnsafePointer<Float>?) {
        let packed = InstructionSet.avx512
        if u == nil || count != g.filterCount || packed != isPacked {
            u?.deallocate()
            turned?.deallocate()
            count = g.filterCount
            isPacked = packed
            u = .allocate(capacity: count)
            turned = forInputGradient && !packed ? .allocate(capacity: g.o * g.c * 9) : nil
            version = -1
        }
        if version != weight.version {
            if forInputGradient && packed {
                // The AVX-512 transform reads the turned kernels in place, a vector's outputs 9 floats apart.
                winogradFilterTransform(weight.value, g, u!, packed: true, turned: true)
            } else if let turned {
                // weight [g.c][g.o][3][3] (the forward's outputs first) into [g.o][g.c][3][3], each kernel reversed, split
                // between the threads (on one, the other waited). Read in place by the scalar transform instead, 9 g.o
                // floats apart, the filters made the transform 1.3-2x as long.
                let w = UnsafePointer(weight.value)
                parallelFor(g.c, work: g.o * g.c * 9) { outputs in
                    for co in outputs {
                        for ci in 0..<g.o {
                            let src = w + (co * g.o + ci) * 9, dst = turned + (ci * g.c + co) * 9
                            for t in 0..<9 { dst[t] = src[8 - t] }
                        }
                    }
                }
                winogradFilterTransform(turned, g, u!, packed: packed)
            } else {
                winogradFilterTransform(weight.value, g, u!, packed: packed)
            }
            version = weight.version
        }
        return (UnsafePointer(u!), packed ? UnsafePointer(u!) : nil)
    }
}

/// A weight matrix transposed, redone only when the weights' version moves (SGD steps, loading, folding).
final class TransposedWeights {
    private var buffer: UnsafeMutablePointer<Float>?
    private var count = 0
    private var version = -1

    deinit { buffer?.deallocate() }

    /// `w` (rows x columns, row-major) as columns x rows.
    func transposed(_ w: UnsafePointer<Float>, rows: Int, columns: Int, version v: Int) -> UnsafePointer<Float> {
        if buffer == nil || count != rows * columns {
            buffer?.deallocate()
            count = rows * columns
            buffer = .allocate(capacity: max(count, 1))
            version = -1
        }
        if version != v {
            for r in 0..<rows { for c in 0..<columns { buffer![c * rows + r] = w[r * columns + c] } }
            version = v
        }
        return UnsafePointer(buffer!)
    }
}
