import XCTest
@testable import Numerics

/// Deterministic generator so every check sees the same inputs on every machine.
extension SplitMix64 {
    /// Seeds from a test's label (FNV-1a), so each case draws its own values.
    init(label: String) { self.init(seed: label.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }) }

    /// Magnitude in [lo, hi] with a random sign: keeps values clear of the kink of ReLU-like functions at 0.
    mutating func awayFromZero(_ lo: Float, _ hi: Float) -> Float {
        let m = uniform(lo, hi)
        return next() & 1 == 0 ? m : -m
    }

    /// k distinct indices below n in random order; pick(n, of: n) is a shuffle.
    mutating func pick(_ k: Int, of n: Int) -> [Int] {
        var all = Array(0..<n)
        for i in 0..<min(k, n) { all.swapAt(i, i + Int(next() % UInt64(n - i))) }
        return Array(all.prefix(k))
    }
}

extension Tensor {
    static func random(c: Int, n: Int, h: Int, w: Int, _ rng: inout SplitMix64,
                       _ draw: (inout SplitMix64) -> Float = { $0.normal() }) -> Tensor {
        let t = Tensor(c: c, n: n, h: h, w: w)
        for i in 0..<t.count { t.data[i] = draw(&rng) }
        return t
    }

    func copy() -> Tensor {
        let t = Tensor(c: c, n: n, h: h, w: w)
        t.data.update(from: data, count: count)
        return t
    }
}

extension Parameter {
    func randomize(_ rng: inout SplitMix64, _ draw: (inout SplitMix64) -> Float = { $0.normal() }) {
        for i in 0..<count { value[i] = draw(&rng) }
        markChanged()
    }
}

/// A Float buffer the loss depends on, and where the backward pass leaves dL/d(buffer).
struct Probe {
    let name: String
    let values: UnsafeMutablePointer<Float>
    let count: Int
    /// Read right after the backward pass.
    let gradient: () -> [Float]
    /// Called after each write to `values` (a parameter's version, which caches derived from it follow).
    let changed: () -> Void

    init(_ name: String, _ values: UnsafeMutablePointer<Float>, count: Int, changed: @escaping () -> Void = {},
         gradient: @escaping () -> [Float]) {
        self.name = name; self.values = values; self.count = count; self.changed = changed; self.gradient = gradient
    }

    init(_ name: String, input: Tensor, gradient: @escaping () -> Tensor) {
        self.init(name, input.data, count: input.count) { gradient().array }
    }

    init(_ p: Parameter) {
        self.init(p.name, p.value, count: p.count, changed: p.markChanged) { p.gradients }
    }
}

/// Central finite differences in Double against a layer's backward pass.
///
/// The scalar is L = sum_i r_i * y_i with r fixed and random, so the backward pass is driven with
/// dy = r. Each probed element is moved by +-h in Float and the quotient uses the Float values actually
/// reached, so rounding of x +- h does not masquerade as a gradient error. Errors are measured against
/// the largest analytic gradient of the probe: elements whose gradient is tiny would otherwise be judged
/// on rounding noise alone.
struct GradientCheck {
    var h: Float
    var tolerance: Double
    /// Probes up to this size are checked on every element, larger ones on this many random elements.
    var samples = 200
    var seed: UInt64 = 1

    /// Worst relative error per probe.
    func measure(forward: () -> Tensor, backward: (Tensor) -> Void, probes: [Probe]) -> [(probe: String, error: Double)] {
        var rng = SplitMix64(seed: seed)
        let y0 = forward()
        let r = (0..<y0.count).map { _ in rng.normal() }
        let dy = Tensor(c: y0.c, n: y0.n, h: y0.h, w: y0.w)
        dy.data.update(from: r, count: r.count)
        // `backward` may mask dy in place and layers keep per-forward state (argmax, batch statistics),
        // so the analytic pass follows a fresh forward at the unperturbed point and is read out at once.
        backward(dy)
        let analytic = probes.map { $0.gradient() }

        func loss() -> Double {
            let y = forward()
            precondition(y.count == r.count, "output shape changed between forwards")
            var s = 0.0
            for i in 0..<r.count { s += Double(r[i]) * Double(y.data[i]) }
            return s
        }

        return zip(probes, analytic).map { probe, grad in
            precondition(grad.count == probe.count, "\(probe.name): gradient has \(grad.count) values for \(probe.count)")
            let scale = grad.reduce(0.0) { max($0, Double(abs($1))) }
            let indices = probe.count <= samples ? Array(0..<probe.count) : rng.pick(samples, of: probe.count)
            var worst = 0.0
            for i in indices {
                let v = probe.values[i]
                let up = v + h, down = v - h
                probe.values[i] = up
                probe.changed()
                let lp = loss()
                probe.values[i] = down
                probe.changed()
                let lm = loss()
                probe.values[i] = v
                probe.changed()
                let numeric = (lp - lm) / (Double(up) - Double(down))
                // A NaN gradient counts as the worst error: max would drop it.
                let error = abs(numeric - Double(grad[i]))
                worst = error.isNaN ? .infinity : max(worst, error)
            }
            return (probe.name, scale > 0 ? worst / scale : worst)
        }
    }

    /// Asserts every probe is within tolerance and prints the worst errors (collected for the report).
    @discardableResult
    func assertMatches(_ label: String, forward: () -> Tensor, backward: (Tensor) -> Void, probes: [Probe],
                       file: StaticString = #filePath, line: UInt = #line) -> Double {
        let errors = measure(forward: forward, backward: backward, probes: probes)
        for (name, e) in errors {
            print("GradientCheck \(label) \(name): worst relative error \(String(format: "%.2e", e))")
            XCTAssertLessThanOrEqual(e, tolerance, "\(label) \(name): relative error \(e)", file: file, line: line)
        }
        return errors.map(\.error).max() ?? 0
    }
}
