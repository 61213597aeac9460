import Numerics
import Foundation

/// 2-D gradient (Perlin) noise with its own seeded lattice, so every synthetic defect gets a different
/// field; the smooth, blobby level sets are what DRAEM cuts its anomaly masks from.
struct PerlinNoise {
    private var permutation: [Int]
    private var gradients: [(x: Float, y: Float)]

    init(rng: inout SplitMix64) {
        var p = Array(0..<256)
        for i in stride(from: 255, to: 0, by: -1) {
            p.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        permutation = p + p
        gradients = (0..<256).map { _ in
            let angle = rng.nextUnit() * 2 * Float.pi
            return (cos(angle), sin(angle))
        }
    }

    /// About -0.7...0.7, zero on every lattice point.
    func value(_ x: Float, _ y: Float) -> Float {
        let x0 = x.rounded(.down), y0 = y.rounded(.down)
        let fx = x - x0, fy = y - y0
        let ix = Int(x0) & 255, iy = Int(y0) & 255
        func dot(_ cx: Int, _ cy: Int, _ dx: Float, _ dy: Float) -> Float {
            let g = gradients[permutation[permutation[(ix + cx) & 255] + ((iy + cy) & 255)]]
            return g.x * dx + g.y * dy
        }
        func fade(_ t: Float) -> Float { t * t * t * (t * (t * 6 - 15) + 10) }
        let u = fade(fx), v = fade(fy)
        let top = dot(0, 0, fx, fy) + u * (dot(1, 0, fx - 1, fy) - dot(0, 0, fx, fy))
        let bottom = dot(0, 1, fx, fy - 1) + u * (dot(1, 1, fx - 1, fy - 1) - dot(0, 1, fx, fy - 1))
        return top + v * (bottom - top)
    }

    /// Octaves of halving amplitude and doubling frequency: ragged edges on a smooth overall shape.
    func fractal(_ x: Float, _ y: Float, octaves: Int) -> Float {
        var sum: Float = 0, amplitude: Float = 1, frequency: Float = 1
        for _ in 0..<octaves {
            sum += amplitude * value(x * frequency, y * frequency)
            amplitude *= 0.5
            frequency *= 2
        }
        return sum
    }
}
