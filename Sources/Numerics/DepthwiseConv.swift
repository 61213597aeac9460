/// Depthwise convolution kernels (one kxk filter per channel), forward and backward.
///
/// Loops run per (channel, image, ky, kx) over whole output rows whose input positions are known to
/// be inside the image, so the innermost loop has no branches and vectorises for stride 1.

func depthwiseForward(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ weight: UnsafePointer<Float>,
                      _ y: UnsafeMutablePointer<Float>) {
    let oh = g.oh, ow = g.ow, s = g.stride, k = g.kh
    let inPlane = g.h * g.w, outPlane = oh * ow
    y.update(repeating: 0, count: g.c * g.n * outPlane)
    for ci in 0..<g.c {
        let wc = weight + ci * k * k
        for ni in 0..<g.n {
            let src = x + (ci * g.n + ni) * inPlane
            let dst = y + (ci * g.n + ni) * outPlane
            for ky in 0..<k {
                let ys = validRange(outN: oh, inN: g.h, stride: s, pad: g.pad.top, k: ky)
                for kx in 0..<k {
                    let xs = validRange(outN: ow, inN: g.w, stride: s, pad: g.pad.left, k: kx)
                    if xs.isEmpty { continue }
                    let wv = wc[ky * k + kx]
                    for oy in ys {
                        let srow = src + (oy * s - g.pad.top + ky) * g.w - g.pad.left + kx
                        let drow = dst + oy * ow
                        if s == 1 {
                            for ox in xs { drow[ox] += wv * srow[ox] }
                        } else {
                            for ox in xs { drow[ox] += wv * srow[ox * s] }
                        }
                    }
                }
            }
        }
    }
}

func depthwiseBackward(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ weight: UnsafePointer<Float>,
                       _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                       _ dx: UnsafeMutablePointer<Float>?) {
    let oh = g.oh, ow = g.ow, s = g.stride, k = g.kh
    let inPlane = g.h * g.w, outPlane = oh * ow
    if let dx { dx.update(repeating: 0, count: g.c * g.n * inPlane) }
    for ci in 0..<g.c {
        let wc = weight + ci * k * k
        for ky in 0..<k {
            let ys = validRange(outN: oh, inN: g.h, stride: s, pad: g.pad.top, k: ky)
            for kx in 0..<k {
                let xs = validRange(outN: ow, inN: g.w, stride: s, pad: g.pad.left, k: kx)
                let wv = wc[ky * k + kx]
                var acc = 0.0
                if !xs.isEmpty {
                    for ni in 0..<g.n {
                        let src = x + (ci * g.n + ni) * inPlane
                        let grad = dy + (ci * g.n + ni) * outPlane
                        let dsrc = dx.map { $0 + (ci * g.n + ni) * inPlane }
                        for oy in ys {
                            let off = (oy * s - g.pad.top + ky) * g.w - g.pad.left + kx
                            let srow = src + off
                            let grow = grad + oy * ow
                            var rowAcc: Float = 0
                            if s == 1 {
                                for ox in xs { rowAcc += grow[ox] * srow[ox] }
                                if let d = dsrc { let drow = d + off; for ox in xs { drow[ox] += wv * grow[ox] } }
                            } else {
                                for ox in xs { rowAcc += grow[ox] * srow[ox * s] }
                                if let d = dsrc { let drow = d + off; for ox in xs { drow[ox * s] += wv * grow[ox] } }
                            }
                            acc += Double(rowAcc)
                        }
                    }
                }
                dw[ci * k * k + ky * k + kx] = Float(acc)
            }
        }
    }
}
