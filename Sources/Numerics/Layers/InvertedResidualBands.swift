import CKernels
import Foundation

/// The inference forward of an inverted residual block (expand 1x1, depthwise kxk, project 1x1, plus
/// the input when the shapes agree), band by band of output rows.
///
/// Layer by layer, the expanded tensors of the early blocks (block 1 of EfficientNet-Lite0 at 256 px:
/// 96 channels at 128x128, 6.3 MB) outgrow L2: the expansion's writes, the depthwise pass's reads and
/// writes and the projection's reads all stream through L3 and memory. Here a band of output rows
/// goes through the whole block while its tiles stay in L2: the expansion of just the input rows the
/// band reads (the rows the previous band expanded too slide up instead of being expanded again), the
/// depthwise convolution of that sub-plane (its padding rows where the band meets the image's edge),
/// the projection into the output rows, and the residual on rows still in cache. The tiles are channels
/// last, where a depthwise kernel needs no padded copy of each plane (`BandPlan.run`).
///
/// Every output is computed in the same order and with the same roundings as the layer-by-layer
/// forward: the GEMM's sums do not depend on which rows or columns it is given or on their layout,
/// and both depthwise kernels sum each output's taps in the same order. So both forwards agree bit for
/// bit (`InvertedResidualBandsTests`). Training keeps the layer-by-layer forward, whose backward needs
/// the whole tensors; so does the portable path, whose OpenBLAS sums might depend on the columns.
public enum InvertedResidualBands {
    nonisolated(unsafe) private static var enabled = ProcessInfo.processInfo.environment["STPM_MBCONV"] != "layers"

    /// Runs `body` with the banded forward on or off (`STPM_MBCONV=layers` turns it off for a run): the
    /// tests compare it with the layer-by-layer forward, and the benchmark can time both.
    public static func with<T>(enabled on: Bool, _ body: () throws -> T) rethrows -> T {
        let saved = enabled
        enabled = on
        defer { enabled = saved }
        return try body()
    }

    /// Floats of one band's tiles (expanded rows and depthwise rows), 1.5 MiB: more than the 1 MiB L2,
    /// because narrower bands starve the GEMMs (fewer columns per pass over the weights). Measured on
    /// the efficientnet-lite0 teacher at 256 px, one thread, ms per image for the stem and eleven blocks:
    /// bands of 0.5 MiB 5.7, 1 MiB 5.2, 1.5 MiB 4.8-5.0, 2 MiB 5.0, 4 MiB 4.9, one band per image 5.4,
    /// layer by layer 6.1-6.4. The early blocks gain most (block 1, 96 channels at 128x128: 1.36-1.40 ->
    /// 0.75-0.80 ms); the last ones, whose tensors nearly fit in L2, lose when cut into bands of a few
    /// 16-wide rows.
    /// Tests lower it to cut the image into more bands.
    nonisolated(unsafe) static var tileBudget = 384 * 1024

    /// The block's output for `x`, or nil where the banded forward does not apply (a unit in training
    /// mode, the portable path, shapes the AVX-512 depthwise kernel does not take): the caller then runs
    /// the layers. The output is `join`'s, or `project`'s without a join; the expanded and depthwise
    /// units keep no output. `expand` may also be a dense kxk convolution (a network's stem before a
    /// block without expansion): its rows are then unfolded (im2col) band by band.
    public static func forward(_ x: Tensor, expand: ConvUnit, depthwise: ConvUnit, project: ConvUnit, join: ResidualAdd?,
                               _ ws: Workspace) -> Tensor? {
        let dw = depthwise.conv
        let mid = dw.inChannels
        guard enabled, InstructionSet.avx512, dw.isDepthwise, dw.stride <= 2, dw.kernel <= 7,
              !expand.conv.isDepthwise, expand.infers, mid % 16 == 0, depthwise.infers,
              project.conv.isPointwise, project.infers, join?.activation ?? .identity == .identity,
              join == nil || expand.conv.isPointwise
        else { return nil }
        precondition(x.c == expand.conv.inChannels && expand.conv.outChannels == mid && project.conv.inChannels == mid,
                     "\(dw.weight.name): channels do not chain")
        // The depthwise input: the expansion's output, or x.
        let unfold = expand.conv.isPointwise ? nil : expand.conv.geometry(x)
        let g = dw.geometry(c: mid, n: x.n, h: unfold?.oh ?? x.h, w: unfold?.ow ?? x.w)
        let plan = BandPlan(g, unfold: unfold, inChannels: x.c, outChannels: project.conv.outChannels)
        if join != nil { precondition(g.stride == 1 && plan.out == x.c, "\(dw.weight.name): the residual needs equal shapes") }
        let y = join?.output ?? project.conv.output
        y.resize(c: plan.out, n: x.n, h: g.oh, w: g.ow)
        expand.conv.outputPlane = g.h * g.w
        (dw.outputPlane, project.conv.outputPlane) = (y.plane, y.plane)
        guard let packedProject = project.conv.packedWeights(), let expandStrips = expand.conv.stripWeights() else { return nil }
        let scratch = ws.threadScratch(plan.scratchFloats)
        let threads = Parallelism.threads
        // Each image's rows in as many parts as it takes to give every thread one.
        let splits = x.n >= threads ? 1 : (threads + x.n - 1) / x.n
        let layers = Layers(expand: expand, expandStrips: expandStrips, depthwise: depthwise, project: project,
                            packedProject: packedProject, tapMajor: dw.tapMajorWeights(), residual: join != nil)
        withEpilogues(expand, depthwise, project) { eExpand, eDepthwise, eProject in
            let epilogues = (eExpand, eDepthwise, eProject)
            parallelChunks(x.n * splits, work: x.n * mid * g.oh * g.ow * g.kh * g.kw) { chunk, items in
                for item in items {
                    let image = item / splits, part = item % splits
                    let rows = (g.oh * part / splits)..<(g.oh * (part + 1) / splits)
                    plan.run(image: image, rows: rows, x: x.data, y: y.data, layers, epilogues, scratch[chunk])
                }
            }
        }
        return y
    }

    /// The three units' inference epilogues at once.
    private static func withEpilogues(_ expand: ConvUnit, _ depthwise: ConvUnit, _ project: ConvUnit,
                                      _ body: (GemmEpilogue, GemmEpilogue, GemmEpilogue) -> Void) {
        expand.withInferenceEpilogue { e in
            depthwise.withInferenceEpilogue { d in project.withInferenceEpilogue { p in body(e, d, p) } }
        }
    }
}

/// What a band reads: the units, the expansion's and the projection's weights as the GEMMs read them (the
/// expansion's transposed, in strips; the projection's packed), the depthwise taps tap-major.
private struct Layers {
    let expand: ConvUnit
    let expandStrips: UnsafePointer<Float>
    let depthwise: ConvUnit
    let project: ConvUnit
    let packedProject: UnsafePointer<Float>
    let tapMajor: UnsafePointer<Float>
    let residual: Bool
}

/// The band height and the tiles of one block's banded forward.
private struct BandPlan {
    /// The depthwise convolution's geometry on the whole input (channels: the expanded ones).
    let g: ConvGeometry
    /// A dense expansion's geometry on x, unfolded band by band (nil: a 1x1 expansion reads x's rows).
    let unfold: ConvGeometry?
    let inChannels: Int, out: Int
    /// Output rows per band, and input rows a band reads at most.
    let bandRows: Int, inputRows: Int

    init(_ g: ConvGeometry, unfold: ConvGeometry?, inChannels: Int, outChannels: Int) {
        self.g = g
        self.unfold = unfold
        self.inChannels = inChannels
        out = outChannels
        // Per output row: its stride's worth of expanded rows and one depthwise row; the kernel's
        // extra rows once per band.
        let perRow = g.c * (g.stride * g.w + g.ow)
        let halo = g.c * max(g.kh - g.stride, 0) * g.w
        // Whole blocks of 4 rows, the depthwise kernel's register block (its single-row remainders
        // are slower per row).
        let fitting = max((InvertedResidualBands.tileBudget - halo) / perRow, 1)
        bandRows = fitting >= g.oh ? g.oh : fitting < 4 ? fitting : fitting / 4 * 4
        inputRows = (bandRows - 1) * g.stride + g.kh
    }

    var expandedFloats: Int { g.c * inputRows * g.w }
    /// The depthwise tile is written as the projection GEMM's right operand, in strips of positions.
    var depthwiseFloats: Int { stpm_sgemm_b_strips_floats(g.c, bandRows * g.ow) }
    var unfoldedFloats: Int { unfold.map { $0.colRows * inputRows * g.w } ?? 0 }
    /// The expansion GEMM's depth.
    var depth: Int { unfold?.colRows ?? inChannels }

    func shape(inputRows h: Int, padTop: Int, outputRows oh: Int) -> stpm_depthwise_shape {
        stpm_depthwise_shape(h: Int32(h), w: Int32(g.w), k: Int32(g.kh), stride: Int32(g.stride), pad_top: Int32(padTop),
                             pad_left: Int32(g.pad.left), oh: Int32(oh), ow: Int32(g.ow))
    }

    var scratchFloats: Int {
        expandedFloats + depthwiseFloats + unfoldedFloats
    }

    /// Output rows `rows` of image `image`, band after band, on the calling thread.
    ///
    /// The expanded tile is channels last ([position][channel]): the expansion is the GEMM of the input's
    /// (or its unfolded rows') transpose by the weights' (one column per channel, kept in strips), and the
    /// depthwise kernel reads 16 channels of a position per vector with no padded copy. It writes its tile
    /// as the projection's right operand already packed (strips of positions, a channel row in each), where
    /// the GEMM transposed a channels-last tile into strips for every band (about a tenth of the time).
    func run(image: Int, rows: Range<Int>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, _ layers: Layers,
             _ epilogues: (expand: GemmEpilogue, depthwise: GemmEpilogue, project: GemmEpilogue),
             _ scratch: UnsafeMutablePointer<Float>) {
        let mid = g.c, w = g.w, s = g.stride, k = g.kh
        let inRow = g.n * g.h * w, outRow = g.n * g.oh * g.ow
        let expanded = scratch, band = scratch + expandedFloats, unfolded = band + depthwiseFloats
        // Input rows held in `expanded`, from its start.
        var held = 0..<0
        for oy0 in stride(from: rows.lowerBound, to: rows.upperBound, by: bandRows) {
            let oh = min(bandRows, rows.upperBound - oy0)
            // Input rows the band reads, including padding rows outside the image.
            let first = oy0 * s - g.pad.top, end = (oy0 + oh - 1) * s - g.pad.top + k
            let needed = max(first, 0)..<min(end, g.h)
            let sub = shape(inputRows: needed.count, padTop: needed.lowerBound - first, outputRows: oh)
            let target = y + (image * g.oh + oy0) * g.ow
            let kept = needed.lowerBound..<(held.contains(needed.lowerBound) ? min(held.upperBound, needed.upperBound) : needed.lowerBound)
            if !kept.isEmpty && kept.lowerBound > held.lowerBound {
                memmove(expanded, expanded + (kept.lowerBound - held.lowerBound) * w * mid,
                        kept.count * w * mid * MemoryLayout<Float>.stride)
            }
            let fresh = kept.upperBound..<needed.upperBound
            if !fresh.isEmpty {
                let a: UnsafePointer<Float>, lda: Int
                if let unfold {
                    im2colRows(x, unfold, image: image, rows: fresh, unfolded)
                    (a, lda) = (UnsafePointer(unfolded), fresh.count * w)
                } else {
                    (a, lda) = (x + image * g.h * w + fresh.lowerBound * w, inRow)
                }
                stpm_sgemm_b_strips(1, fresh.count * w, mid, depth, a, lda, nil, layers.expandStrips,
                                    expanded + kept.count * w * mid, mid, epilogues.expand.scale, epilogues.expand.bias,
                                    nil, 0, epilogues.expand.activation.kernelCode, 1)
            }
            held = needed
            stpm_depthwise_nhwc_strips_avx512(expanded, layers.tapMajor, epilogues.depthwise.bias, epilogues.depthwise.scale,
                                              epilogues.depthwise.activation.kernelCode, band, mid, sub)
            // The residual's input rows are the output's (same shape, stride 1), added in the epilogue after
            // the shift, as the join adds them.
            let e = epilogues.project
            stpm_sgemm_b_strips(0, out, oh * g.ow, mid, layers.project.conv.weight.value, mid, layers.packedProject, band,
                                target, outRow, e.scale, e.bias, layers.residual ? x + (image * g.h + oy0) * w : nil, inRow,
                                e.activation.kernelCode, 0)
        }
    }
}
