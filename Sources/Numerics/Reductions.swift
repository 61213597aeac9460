/// Sums in Float over short chunks (fast, vectorised) and combines the chunks in Double, so
/// statistics over a whole batch row (up to millions of values) keep float64-like accuracy.
@inline(__always)
func chunkedSum(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
    var total = 0.0
    var i = 0
    while i < count {
        let end = min(i + 1024, count)
        var s: Float = 0
        for j in i..<end { s += p[j] }
        total += Double(s)
        i = end
    }
    return total
}

@inline(__always)
func chunkedDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Double {
    var total = 0.0
    var i = 0
    while i < count {
        let end = min(i + 1024, count)
        var s: Float = 0
        for j in i..<end { s += a[j] * b[j] }
        total += Double(s)
        i = end
    }
    return total
}

/// Sum of (p[i] - mean)^2, chunked like `chunkedSum`.
@inline(__always)
func chunkedSquaredDeviation(_ p: UnsafePointer<Float>, _ count: Int, mean: Float) -> Double {
    var total = 0.0
    var i = 0
    while i < count {
        let end = min(i + 1024, count)
        var s: Float = 0
        for j in i..<end { let d = p[j] - mean; s += d * d }
        total += Double(s)
        i = end
    }
    return total
}
