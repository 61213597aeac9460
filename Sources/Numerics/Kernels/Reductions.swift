import CKernels

/// Sums over long rows. Each runs with explicit vector accumulators (a scalar running sum is one
/// long dependency chain that the compiler may not reorder) over chunks of 1024 values in Float, and
/// combines the chunks in Double, so statistics over a whole batch row keep float64-like accuracy.
/// `chunkedSum` and `chunkedSquaredDeviation` run in AVX-512 where `InstructionSet.avx512` allows, to the same
/// floats (batchnorm_avx512.c: the same lanes, several chunks side by side).

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

/// sum of f(a[i], b[i]) over a short run, vectorised 16 at a time.
@inline(__always)
func vectorSum(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int,
               _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>, _ scalar: (Float, Float) -> Float) -> Float {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= count {
        s0 += f(load8(a + i), load8(b + i))
        s1 += f(load8(a + i + 8), load8(b + i + 8))
        i += 16
    }
    var total = (s0 + s1).sum()
    while i < count { total += scalar(a[i], b[i]); i += 1 }
    return total
}

@inline(__always)
func chunked(_ count: Int, _ chunk: (Int, Int) -> Float) -> Double {
    var total = 0.0, i = 0
    while i < count {
        let n = min(1024, count - i)
        total += Double(chunk(i, n))
        i += n
    }
    return total
}

@inline(__always)
func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    vectorSum(a, b, count, { $0 * $1 }, { $0 * $1 })
}

func chunkedSum(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
    if InstructionSet.avx512 { return stpm_bn_sum_avx512(p, count) }
    return chunked(count) { i, n in vectorSum(p + i, p + i, n, { x, _ in x }, { x, _ in x }) }
}

func chunkedDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Double {
    chunked(count) { i, n in dotProduct(a + i, b + i, n) }
}

/// Sum of (p[i] - mean)^2.
func chunkedSquaredDeviation(_ p: UnsafePointer<Float>, _ count: Int, mean: Float) -> Double {
    if InstructionSet.avx512 { return stpm_bn_squared_deviation_avx512(p, count, mean) }
    let m = SIMD8<Float>(repeating: mean)
    return chunked(count) { i, n in
        vectorSum(p + i, p + i, n, { x, _ in (x - m) * (x - m) }, { x, _ in (x - mean) * (x - mean) })
    }
}
