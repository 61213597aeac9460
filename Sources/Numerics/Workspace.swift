/// Scratch memory shared by the layers of one network (im2col columns, their gradients).
///
/// Layers run one after another, so one growing buffer serves them all and a training step
/// allocates nothing once the largest layer has been seen.
public final class Workspace {
    private var buffer: UnsafeMutablePointer<Float>
    private var capacity: Int

    public init() {
        capacity = 1
        buffer = .allocate(capacity: 1)
    }

    private var perThread: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []
    private var threadPointers: [UnsafeMutablePointer<Float>] = []

    /// Gradients shared by every layer of the network, so that a training step holds each once instead
    /// of once per layer (a batch of 32 at 256 px would otherwise keep gigabytes of dead gradients).
    /// `layerGradients` carry dL/dx from one layer to the one before, in turn (see `Layer`).
    /// `innerGradient` and `branchGradient` live only within one block's backward pass: dL/dx from one
    /// convolution to the next, and BatchNorm's dL/dx where `dy` must survive it (`ConvUnit.backward`);
    /// each block's backward says which it uses when. No forward pass uses them, so a ResNet stem lends
    /// `layerGradients[0]` its activated output (`Stem`).
    public let layerGradients = [Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0)]
    public let innerGradient = Tensor(c: 0, n: 0, h: 0, w: 0)
    public let branchGradient = Tensor(c: 0, n: 0, h: 0, w: 0)
    /// Outputs of trainable units read only inside their block, which recomputes them for its backward
    /// pass (see `ConvUnit.recomputeOutput`), shared by every block of the network. A block may also use
    /// one as a gradient once the output it held is dead.
    public let blockActivations = [Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0)]
    /// The convolution output of a block's last unit in training, which only the join reads in the forward
    /// pass and only that unit's BatchNorm in the backward pass, where the block recomputes it
    /// (`ConvUnit.forwardIntoJoin(_:_:into:convolving:)`): one tensor for every block instead of one each.
    public let joinConvolution = Tensor(c: 0, n: 0, h: 0, w: 0)

    /// The most floats a backward pass's im2col column matrix may take (8M, 32 MiB): a convolution whose batch
    /// needs more runs its weight and input gradients in bands of whole images, one GEMM each. Without it
    /// resnet50-1by2's 7x7 stem took 294 MiB of columns for a training batch of 32 at 256 px, a tenth of the
    /// run's peak. Tests lower it so that small tensors take the banded paths. (The forward pass runs by
    /// bands of output rows that stay in a core's cache: `Conv2d.bandedIm2colForward`.)
    public var columnLimit = 8 << 20

    /// Calls `body` for each band of the batch's images whose column matrix fits `columnLimit` (at least
    /// one image per band), in image order, with a scratch buffer that holds the band's columns.
    func forEachColumnBand(_ g: ConvGeometry, _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        let perImage = g.colRows * g.oh * g.ow, per = max(1, min(g.n, columnLimit / max(perImage, 1)))
        let cols = scratch(per * perImage)
        for start in stride(from: 0, to: g.n, by: per) { body(start..<min(start + per, g.n), cols) }
    }

    deinit {
        buffer.deallocate()
        for b in perThread { b.pointer.deallocate() }
    }

    /// One scratch buffer of at least `count` floats per parallel chunk, grown here on the calling
    /// thread so that the chunks only read the table. Fresh memory every call would cost a page
    /// fault per 4 KiB.
    func threadScratch(_ count: Int) -> [UnsafeMutablePointer<Float>] {
        var grown = false
        while perThread.count < Parallelism.threads {
            perThread.append((.allocate(capacity: 1), 1))
            grown = true
        }
        for i in perThread.indices where perThread[i].capacity < count {
            perThread[i].pointer.deallocate()
            perThread[i] = (.allocate(capacity: count), count)
            grown = true
        }
        // Handed out as one array kept here: a new array per call would be an allocation per convolution.
        if grown { threadPointers = perThread.map(\.pointer) }
        return threadPointers
    }

    func scratch(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            buffer.deallocate()
            capacity = count
            buffer = .allocate(capacity: count)
        }
        return buffer
    }
}
