extension Conv2d {
    /// Gradients of a forward pass on `x` given dL/dy: writes weight.grad (and bias.grad) and, unless
    /// `needInputGrad` is false (the first layer), returns dL/dx in `inputGrad` or `into`; with `adding`,
    /// dL/dx is added to what `into` holds (a residual block's shortcut adding to the main branch's),
    /// for dense convolutions that take no Winograd path.
    @discardableResult
    public func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, needInputGrad: Bool = true,
                         into target: Tensor? = nil, adding: Bool = false) -> Tensor {
        backward(x, dy, ws, needInputGrad: needInputGrad, into: target, adding: adding, algorithm: nil)
    }

    /// As `backward`, with the input gradient's algorithm (`algorithm`) and the weight gradient's (`weightAlgorithm`)
    /// chosen by the caller (tests) instead of `preferredAlgorithm` and `preferredWeightGradientAlgorithm`.
    @discardableResult
    func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, needInputGrad: Bool, into target: Tensor?, adding: Bool = false,
                  algorithm: Algorithm?, weightAlgorithm: Algorithm? = nil) -> Tensor {
        let inputGrad = target ?? self.inputGrad
        let g = geometry(x)
        precondition(dy.c == outChannels && dy.n == x.n && dy.h == g.oh && dy.w == g.ow, "\(weight.name): gradient shape mismatch")
        precondition(!adding || (target != nil && target!.sameShape(x) && !isDepthwise), "\(weight.name): dL/dx adds only to a dense layer's given tensor")
        weight.enableGrad()
        if let bias {
            bias.enableGrad()
            let row = dy.rowLength
            for o in 0..<outChannels { bias.grad![o] = Float(chunkedSum(dy.data + o * row, row)) }
        }
        if needInputGrad { inputGrad.resize(c: x.c, n: x.n, h: x.h, w: x.w) }
        if isDepthwise {
            depthwiseBackward(x.data, g, weight.value, dy.data, weight.grad!, needInputGrad ? inputGrad.data : nil, ws)
            return inputGrad
        }
        if isPointwise {
            pointwiseBackward(x, rows: nil, dy, g, needInputGrad: needInputGrad, into: inputGrad, adding: adding)
            return inputGrad
        }
        if !needInputGrad && weightGradientByRowBands {
            rowBandWeightGradient(x, dy, g, ws)
            return inputGrad
        }
        let winograd = needInputGrad && admitsWinograd(g) && (algorithm ?? preferredAlgorithm(g)) == .winograd
        let weightWinograd = admitsWinograd(g) && (weightAlgorithm ?? preferredWeightGradientAlgorithm(g)) == .winograd
        precondition(!(adding && winograd), "\(weight.name): Winograd's dL/dx does not add")
        if weightWinograd {
            winogradWeightGradient(x.data, dy.data, WinogradGeometry(c: inChannels, o: outChannels, n: x.n, h: x.h, w: x.w),
                                   weight.grad!, ws)
        }
        // Band by band: the weight gradient (unless Winograd computed it above) accumulates each band's product,
        // and dL/dx (unless Winograd computes it below) goes back through the band's columns to the band's own images.
        let columnGrad = needInputGrad && !winograd
        if weightWinograd && !columnGrad { return winograd ? winogradInputGradient(dy, ws, into: inputGrad) : inputGrad }
        ws.forEachColumnBand(g) { band, cols in
            let plane = g.oh * g.ow, columns = band.count * plane, dyBand = dy.data + band.lowerBound * plane
            if !weightWinograd {
                im2col(x.data, g, images: band, cols)
                gemm(transB: true, m: outChannels, n: g.colRows, k: columns, a: dyBand, lda: g.colCols,
                     b: cols, ldb: columns, beta: band.lowerBound == 0 ? 0 : 1, c: weight.grad!, ldc: g.colRows)
            }
            guard columnGrad else { return }
            gemm(transA: true, m: g.colRows, n: columns, k: outChannels, a: weight.value, lda: g.colRows,
                 b: dyBand, ldb: g.colCols, c: cols, ldc: columns)
            col2imAdd(cols, g, images: band, inputGrad.data, zeroing: !adding)
        }
        return winograd ? winogradInputGradient(dy, ws, into: inputGrad) : inputGrad
    }

    /// Whether a weight gradient without dL/dx (the first layer) runs by bands of output rows
    /// (`rowBandWeightGradient`): the ResNets' 7x7 stems, whose 147 column rows over a band of whole images (three at
    /// 256 px, 29 MB) were written to memory and read back by the GEMM. EfficientNet-Lite0's 3x3 stem keeps the image
    /// bands: not measured.
    var weightGradientByRowBands: Bool { !isDepthwise && kernel == 7 }

    /// dW = dy * colsᵀ by bands of output rows of one image, as `bandedIm2colForward` runs the forward: each band's
    /// columns are written and read by the GEMM while they are in the cache. Each thread sums its bands into its own
    /// partial dW (zeroed first, so a thread with no band adds zeros), and the partials are added in thread order:
    /// the result depends on the thread count only.
    private func rowBandWeightGradient(_ x: Tensor, _ dy: Tensor, _ g: ConvGeometry, _ ws: Workspace) {
        let oh = g.oh, ow = g.ow, plane = oh * ow, k = g.colRows, o = outChannels
        let rows = max(1, min(oh, Self.bandFloats / (k * ow))), perImage = (oh + rows - 1) / rows
        let colFloats = k * rows * ow, scratch = ws.threadScratch(colFloats + o * k)
        for t in 0..<Parallelism.threads { (scratch[t] + colFloats).update(repeating: 0, count: o * k) }
        parallelChunks(g.n * perImage, work: o * k * g.colCols / 64) { chunk, bands in
            let cols = scratch[chunk], partial = cols + colFloats
            for band in bands {
                let ni = band / perImage, oy0 = band % perImage * rows, oys = oy0..<min(oy0 + rows, oh)
                let width = oys.count * ow
                im2colRows(x.data, g, image: ni, rows: oys, cols)
                serialGemm(transB: true, m: o, n: k, k: width, a: dy.data + ni * plane + oy0 * ow, lda: g.colCols,
                           b: cols, ldb: width, beta: 1, c: partial, ldc: k)
            }
        }
        let dw = weight.grad!
        dw.update(from: scratch[0] + colFloats, count: o * k)
        for t in 1..<Parallelism.threads {
            let partial = scratch[t] + colFloats
            for i in 0..<(o * k) { dw[i] += partial[i] }
        }
    }

    /// dL/dx is the same kind of convolution (3x3, stride 1, padded by 1) of dL/dy, with each kernel turned by
    /// 180° and inputs and outputs swapped: Winograd as in the forward, instead of a GEMM over the column
    /// matrix and col2im.
    private func winogradInputGradient(_ dy: Tensor, _ ws: Workspace, into inputGrad: Tensor) -> Tensor {
        let wg = WinogradGeometry(c: outChannels, o: inChannels, n: dy.n, h: dy.h, w: dy.w)
        let (u, packedU) = winogradInputGradientFilter.transform(of: weight, wg)
        winogradConvolution(dy.data, u, packedU, wg, bias: nil, .identity, inputGrad.data, ws)
        return inputGrad
    }

    /// A 1x1 convolution's weight gradient from x, its rows read through `rows` where given (x is then
    /// that BatchNorm's input), and dL/dx into `inputGrad` (added with `adding`).
    private func pointwiseBackward(_ x: Tensor, rows: RowMap?, _ dy: Tensor, _ g: ConvGeometry, needInputGrad: Bool,
                                   into inputGrad: Tensor, adding: Bool) {
        if needInputGrad && gemmReadsMappedB(m: outChannels, n: g.colRows, k: g.colCols) {
            weightAndInputGradients(m: outChannels, n: g.colRows, k: g.colCols, dy: dy.data, lddy: g.colCols, x: x.data, ldx: g.colCols,
                                    xRows: rows, w: weight.value, dw: weight.grad!, dx: inputGrad.data, lddx: g.colCols,
                                    beta: adding ? 1 : 0)
            return
        }
        gemm(transB: true, m: outChannels, n: g.colRows, k: g.colCols, a: dy.data, lda: g.colCols,
             b: x.data, ldb: g.colCols, bRows: rows, c: weight.grad!, ldc: g.colRows)
        if needInputGrad {
            gemm(transA: true, m: g.colRows, n: g.colCols, k: outChannels, a: weight.value, lda: g.colRows,
                 b: dy.data, ldb: g.colCols, beta: adding ? 1 : 0, c: inputGrad.data, ldc: g.colCols)
        }
    }

    /// Whether `backward(normalized:_:_:into:)` applies to an input of `x`'s shape: a bias-free 1x1 convolution
    /// whose weight gradient's GEMM reads its input's rows through the BatchNorm (`gemmReadsMappedB`).
    func readsNormalizedInput(_ x: Tensor) -> Bool {
        isPointwise && bias == nil && x.c == inChannels && gemmReadsMappedB(m: outChannels, n: inChannels, k: x.rowLength)
    }

    /// `backward` of a 1x1 convolution whose input is x.x read through x's train-mode BatchNorm and activation
    /// (the output of the unit before, which then need not be recomputed for this pass): the weight gradient's
    /// GEMM maps the input's rows as it reads them, to the floats of reading that output. Only where
    /// `readsNormalizedInput(x.x)`.
    @discardableResult
    func backward(normalized x: NormalizedTensor, _ dy: Tensor, _ ws: Workspace, into target: Tensor) -> Tensor {
        precondition(readsNormalizedInput(x.x), "\(weight.name): the weight gradient cannot read this input through its BatchNorm")
        let g = geometry(x.x)
        precondition(dy.c == outChannels && dy.n == x.x.n && dy.h == g.oh && dy.w == g.ow, "\(weight.name): gradient shape mismatch")
        weight.enableGrad()
        target.resize(c: x.x.c, n: x.x.n, h: x.x.h, w: x.x.w)
        let (scale, shift) = x.bn.batchAffines()
        pointwiseBackward(x.x, rows: RowMap(scale: scale, shift: shift, activation: x.activation), dy, g, needInputGrad: true,
                          into: target, adding: false)
        return target
    }

    /// A depthwise convolution's backward pass with its input read through `normalized` (whose tensor `x`
    /// then is, as in `forward(normalized:_:into:)`) and its dL/dy through `gradient` (the train-mode
    /// BatchNorm after it), either nil for the tensor as it is: writes weight.grad and, with `needInputGrad`,
    /// dL/dx into `inputGrad` or `into`; `starting` and `finished` as in `depthwiseBackward`.
    @discardableResult
    func backward(_ x: Tensor, normalized: NormalizedTensor?, _ dy: Tensor, gradient: BatchNormGradient?, _ ws: Workspace,
                  needInputGrad: Bool, into target: Tensor? = nil, starting: ((Int) -> Void)? = nil,
                  finished: ((Int) -> Void)? = nil) -> Tensor {
        let g = geometry(x)
        precondition(isDepthwise && bias == nil, "\(weight.name): only a bias-free depthwise convolution reads mapped tensors")
        precondition(normalized == nil || normalized!.x === x, "\(weight.name): the normalised tensor is x")
        precondition(dy.c == outChannels && dy.n == x.n && dy.h == g.oh && dy.w == g.ow, "\(weight.name): gradient shape mismatch")
        precondition(gradient == nil || gradient!.z.sameShape(dy), "\(weight.name): BatchNorm's input has dy's shape")
        let inputGrad = target ?? self.inputGrad
        weight.enableGrad()
        if needInputGrad { inputGrad.resize(c: x.c, n: x.n, h: x.h, w: x.w) }
        depthwiseBackward(x.data, g, weight.value, dy.data, weight.grad!, needInputGrad ? inputGrad.data : nil, ws,
                          normalized: normalized, gradient: gradient, starting: starting, finished: finished)
        return inputGrad
    }
}
