/// im2col / col2im over channel-major tensors.
///
/// The column matrix has one row per (channel, ky, kx) and one column per (image, oy, ox), so a
/// convolution over the whole batch is one GEMM: Y[O, N*Ho*Wo] = W[O, C*kh*kw] x cols. Both functions
/// take a band of the batch's images, whose columns alone the matrix then holds (`Conv2d` bounds its
/// column memory that way).

/// Output positions o in 0..<outN whose input index o*stride - pad + k falls inside 0..<inN.
@inline(__always)
func validRange(outN: Int, inN: Int, stride: Int, pad: Int, k: Int) -> Range<Int> {
    // o*stride >= pad - k  and  o*stride <= inN - 1 + pad - k
    let lowNum = pad - k
    let lo = lowNum <= 0 ? 0 : (lowNum + stride - 1) / stride
    let hiNum = inN - 1 + pad - k
    let hi = hiNum < 0 ? -1 : min(hiNum / stride, outN - 1)
    return lo <= hi ? lo..<(hi + 1) : 0..<0
}

struct ConvGeometry {
    var c: Int, n: Int, h: Int, w: Int
    var kh: Int, kw: Int, stride: Int, pad: Padding
    var oh: Int { windowCount(h, kernel: kh, stride: stride, padBefore: pad.top, padAfter: pad.bottom) }
    var ow: Int { windowCount(w, kernel: kw, stride: stride, padBefore: pad.left, padAfter: pad.right) }
    var colRows: Int { c * kh * kw }
    var colCols: Int { n * oh * ow }
}

/// Visits each row of the column matrix — channel `ci`, filter tap (ky, kx), at `row` floats into
/// the matrix — with the output rows `ys` and columns `xs` whose input position lies inside the
/// image. Shared by im2col and its adjoint so that both walk exactly the same positions.
@inline(__always)
func forEachColumnRow(_ g: ConvGeometry, columns: Int, _ body: (_ ci: Int, _ ky: Int, _ kx: Int, _ row: Int, _ ys: Range<Int>, _ xs: Range<Int>) -> Void) {
    let oh = g.oh, ow = g.ow
    parallelFor(g.c, work: g.colRows * columns) { channels in
        for ci in channels {
            for ky in 0..<g.kh {
                let ys = validRange(outN: oh, inN: g.h, stride: g.stride, pad: g.pad.top, k: ky)
                for kx in 0..<g.kw {
                    let xs = validRange(outN: ow, inN: g.w, stride: g.stride, pad: g.pad.left, k: kx)
                    body(ci, ky, kx, ((ci * g.kh + ky) * g.kw + kx) * columns, ys, xs)
                }
            }
        }
    }
}

func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, images band: Range<Int>, _ cols: UnsafeMutablePointer<Float>) {
    let oh = g.oh, ow = g.ow
    let inPlane = g.h * g.w, outPlane = oh * ow
    forEachColumnRow(g, columns: band.count * outPlane) { ci, ky, kx, rowOffset, ys, xs in
        for ni in band {
            im2colRow(x + (ci * g.n + ni) * inPlane, g, ky: ky, kx: kx, ys: ys, xs: xs, outputRows: 0..<oh,
                      cols + rowOffset + (ni - band.lowerBound) * outPlane)
        }
    }
}

/// The column matrix of output rows `oys` of image `ni` alone: one row per (channel, ky, kx), one column
/// per (oy in oys, ox), rows oys.count * ow apart. A convolution computed band by band this way keeps
/// its columns in the cache, where a whole image's (2.4 MB for the ResNets' 7x7 stem at 256 px) would
/// be written to memory and read back.
func im2colRows(_ x: UnsafePointer<Float>, _ g: ConvGeometry, image ni: Int, rows oys: Range<Int>,
                _ cols: UnsafeMutablePointer<Float>) {
    let oh = g.oh, ow = g.ow, width = oys.count * ow, inPlane = g.h * g.w
    for ci in 0..<g.c {
        let src = x + (ci * g.n + ni) * inPlane
        for ky in 0..<g.kh {
            let ys = validRange(outN: oh, inN: g.h, stride: g.stride, pad: g.pad.top, k: ky)
            for kx in 0..<g.kw {
                let xs = validRange(outN: ow, inN: g.w, stride: g.stride, pad: g.pad.left, k: kx)
                im2colRow(src, g, ky: ky, kx: kx, ys: ys, xs: xs, outputRows: oys, cols + ((ci * g.kh + ky) * g.kw + kx) * width)
            }
        }
    }
}

/// Tap (ky, kx) of one input plane for output rows `oys`, into `dst` (oys.count * ow floats): zero where
/// the tap falls in the padding (output rows outside `ys`, columns outside `xs`).
@inline(__always)
private func im2colRow(_ src: UnsafePointer<Float>, _ g: ConvGeometry, ky: Int, kx: Int, ys: Range<Int>, xs: Range<Int>,
                       outputRows oys: Range<Int>, _ dst: UnsafeMutablePointer<Float>) {
    let ow = g.ow, s = g.stride
    for oy in oys {
        let d = dst + (oy - oys.lowerBound) * ow
        guard ys.contains(oy) else { d.update(repeating: 0, count: ow); continue }
        let srow = src + (oy * s - g.pad.top + ky) * g.w - g.pad.left + kx
        if xs.lowerBound > 0 { d.update(repeating: 0, count: xs.lowerBound) }
        if s == 1 {
            (d + xs.lowerBound).update(from: srow + xs.lowerBound, count: xs.count)
        } else {
            // Stride 2 (the ResNet stems, 3.3 % of a ResNet-50-1by2 inference as a scalar loop): the even lanes of
            // 32 loaded values give 16 outputs. A run ends a column early, so its last odd lane (2 ox + 31 at most)
            // stays before the row's last tap read (2 (xs.upperBound - 1)).
            var ox = xs.lowerBound
            if s == 2 {
                while ox + 17 <= xs.upperBound {
                    let pair = UnsafeRawPointer(srow + 2 * ox).loadUnaligned(as: SIMD32<Float>.self)
                    UnsafeMutableRawPointer(d + ox).storeBytes(of: pair.evenHalf, as: SIMD16<Float>.self)
                    ox += 16
                }
            }
            while ox < xs.upperBound { d[ox] = srow[ox * s]; ox += 1 }
        }
        if xs.upperBound < ow { (d + xs.upperBound).update(repeating: 0, count: ow - xs.upperBound) }
    }
}

/// Adds the columns back onto the input positions they were copied from (the adjoint of im2col). With `zeroing`, each
/// of the band's planes is zeroed first by the thread that adds onto it, just before its first add: a zero() of the
/// whole gradient before the bands ran on one thread and left the planes out of cache.
func col2imAdd(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, images band: Range<Int>, _ dx: UnsafeMutablePointer<Float>,
               zeroing: Bool = false) {
    let ow = g.ow, s = g.stride
    let inPlane = g.h * g.w, outPlane = g.oh * ow
    forEachColumnRow(g, columns: band.count * outPlane) { ci, ky, kx, rowOffset, ys, xs in
        for ni in band {
            let dst = dx + (ci * g.n + ni) * inPlane
            if zeroing && ky == 0 && kx == 0 { dst.update(repeating: 0, count: inPlane) }
            let src = cols + rowOffset + (ni - band.lowerBound) * outPlane
            for oy in ys {
                let drow = dst + (oy * s - g.pad.top + ky) * g.w - g.pad.left + kx
                let srow = src + oy * ow
                if s == 1 {
                    for ox in xs { drow[ox] += srow[ox] }
                } else {
                    for ox in xs { drow[ox * s] += srow[ox] }
                }
            }
        }
    }
}
