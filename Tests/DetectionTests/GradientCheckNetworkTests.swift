import XCTest
import Numerics
import Backbones
@testable import Detection
import TestSupport

/// PyramidLoss's gradient wrt the student taps, then whole student backbones under it: the tap
/// gradients fed through FeatureExtractor.backward must match central differences of the loss for a
/// sample of parameters spread over the depth of the network.
///
/// Lives in DetectionTests because it needs PyramidLoss; the layer-by-layer checks, with the generic
/// checker, are in NumericsTests/GradientCheck*.
final class GradientCheckNetworkTests: XCTestCase {
    /// The STPM loss in Double from Float taps. PyramidLoss sums in Float chunks of 4096, whose rounding
    /// (~1e-5 of the loss) would swamp the differences of parameters deep in the network.
    static func referenceLoss(teacher: [Tensor], student: [Tensor], weights: [Double] = [1, 1, 1]) -> Double {
        var total = 0.0
        for (t, (s, weight)) in zip(teacher, zip(student, weights)) {
            let m = s.rowLength
            var level = 0.0
            for i in 0..<m {
                var sq = 0.0
                for c in 0..<s.c { let v = Double(s.data[c * m + i]); sq += v * v }
                let inv = 1 / max(sq.squareRoot(), 1e-12)
                for c in 0..<s.c { let d = Double(t.data[c * m + i]) - Double(s.data[c * m + i]) * inv; level += d * d }
            }
            total += weight * level / Double(m)
        }
        return total
    }

    /// Teacher taps as the trainer caches them: channel-normalised. (Each is the output tensor of its
    /// own ChannelNormalize, which outlives the layer; its raw pointer would not.)
    static func normalizedTeacher(like taps: [Tensor], _ rng: inout SplitMix64) -> [Tensor] {
        taps.map { ChannelNormalize().forward(rng.tensor(like: $0)) }
    }

    /// dL/dv[i] by central difference, with the quotient taken over the Float values actually reached.
    /// The larger error, where a NaN (a NaN gradient) is the worst of all: `max` would keep the old value.
    static func worse(_ worst: Double, _ error: Double) -> Double {
        error.isNaN ? .infinity : max(worst, error)
    }

    static func centralDifference(_ v: UnsafeMutablePointer<Float>, _ i: Int, h: Float, _ loss: () -> Double) -> Double {
        let x = v[i], up = x + h, down = x - h
        v[i] = up
        let lp = loss()
        v[i] = down
        let lm = loss()
        v[i] = x
        return (lp - lm) / (Double(up) - Double(down))
    }

    func testPyramidLossStudentGradient() {
        var rng = SplitMix64(seed: 3)
        let shapes = [Tensor(c: 4, n: 2, h: 4, w: 4), Tensor(c: 6, n: 2, h: 2, w: 2), Tensor(c: 8, n: 2, h: 1, w: 1)]
        let student = shapes.map { rng.tensor(like: $0) }
        let teacher = Self.normalizedTeacher(like: shapes, &rng)
        let loss = PyramidLoss()
        let levels = loss.forward(teacher: teacher, student: student)
        let reference = Self.referenceLoss(teacher: teacher, student: student)
        XCTAssertEqual(levels.reduce(0, +), reference, accuracy: 1e-6 * reference)
        for (l, s) in student.enumerated() {
            let into = Tensor(c: 0, n: 0, h: 0, w: 0)
            loss.gradient(level: l, teacher: teacher, student: s, into: into, adding: false)
            let grad = into.array
            // Added onto a gradient already flowing, the same values.
            let flowing = Tensor(c: s.c, n: s.n, h: s.h, w: s.w)
            for i in 0..<flowing.count { flowing.data[i] = 0.25 }
            loss.gradient(level: l, teacher: teacher, student: s, into: flowing, adding: true)
            for i in 0..<s.count { XCTAssertEqual(flowing.data[i], 0.25 + grad[i], "level \(l + 1) element \(i)") }
            let scale = grad.reduce(0.0) { max($0, Double(abs($1))) }
            var worst = 0.0
            for i in 0..<s.count {
                let numeric = Self.centralDifference(s.data, i, h: 1e-3) { Self.referenceLoss(teacher: teacher, student: student) }
                worst = Self.worse(worst, abs(numeric - Double(grad[i])))
            }
            print("GradientCheck pyramid-loss level\(l + 1): worst relative error \(String(format: "%.2e", worst / scale))")
            XCTAssertLessThanOrEqual(worst / scale, 1e-3, "level \(l + 1)")
        }
    }

    /// Randomises the student (He-scaled convs, BatchNorm gamma near 1), draws an input and a fixed
    /// normalised teacher, and compares analytic and numeric dL/dp on `picks` random elements of each
    /// listed parameter. Errors are relative to the largest analytic gradient of that parameter tensor.
    ///
    /// The loss is only piecewise smooth (ReLU/ReLU6, max-pool argmax) and strongly curved through
    /// train-mode BatchNorm on few values per channel: a step of 1e-2 leaves up to 9% error in the
    /// first layers, shrinking about linearly with h; below 1e-3 Float rounding of the forward pass
    /// takes over. Hence h = 1e-3 and a 5% tolerance: this check is for wiring (tap sums, residual
    /// branches, in-place masking), which fails by O(1); the layer checks hold the exact math.
    ///
    /// `levelWeights` scale each level's loss (and its tap gradient). In EfficientNet-Lite0 at 32x32 the
    /// level-3 path (BatchNorm over 8 values per channel) dominates every early gradient so much that
    /// dropping the level-1/2 tap gradients altogether stayed within 5%; damping level 3 exposes it.
    func check(_ kind: BackboneKind, picks: [(String, Int)], seed: UInt64, levelWeights: [Float] = [1, 1, 1],
               h: Float = 1e-3, tolerance: Double = 5e-2, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SplitMix64(seed: seed)
        let student = kind.make(role: .student)
        student.setTraining(true)
        randomize(student.parameters, scales: 0.5...1.5, shifts: -0.2...0.2, &rng)
        let x = rng.tensor(like: Tensor(c: 3, n: 2, h: 32, w: 32))
        let teacher = Self.normalizedTeacher(like: student.forward(x), &rng)
        let loss = PyramidLoss()
        let taps = student.forward(x)
        _ = loss.forward(teacher: teacher, student: taps)
        let level = Tensor(c: 0, n: 0, h: 0, w: 0)
        student.backward { t, g, adding in
            loss.gradient(level: t, teacher: teacher, student: taps[t], into: level, adding: false)
            if !adding { g.resize(c: level.c, n: level.n, h: level.h, w: level.w) }
            for i in 0..<g.count { g.data[i] = (adding ? g.data[i] : 0) + levelWeights[t] * level.data[i] }
        }
        let weights = levelWeights.map(Double.init)

        let byName = Dictionary(uniqueKeysWithValues: student.parameters.map { ($0.name, $0) })
        let analytic = picks.map { name, _ in byName[name]!.gradients }
        for ((name, count), grad) in zip(picks, analytic) {
            let p = byName[name]!
            let scale = grad.reduce(0.0) { max($0, Double(abs($1))) }
            var worst = 0.0
            for _ in 0..<count {
                let i = Int(rng.next() % UInt64(p.count))
                let numeric = Self.centralDifference(p.value, i, h: h) {
                    p.markChanged()
                    return Self.referenceLoss(teacher: teacher, student: student.forward(x), weights: weights)
                }
                // The restored value is a change too: the layers' caches of their weights (packed GEMM
                // operands, Winograd transforms) would otherwise keep the last perturbed one.
                p.markChanged()
                worst = Self.worse(worst, abs(numeric - Double(grad[i])))
            }
            print("GradientCheck \(kind.rawValue) \(name): worst relative error \(String(format: "%.2e", worst / scale))")
            XCTAssertGreaterThan(scale, 0, "\(name): no gradient reached it", file: file, line: line)
            XCTAssertLessThanOrEqual(worst / scale, tolerance, "\(kind.rawValue) \(name)", file: file, line: line)
        }
    }

    func testResNet18Student() {
        check(.resnet18, picks: [
            ("conv1.weight", 4), ("bn1.weight", 2), ("bn1.bias", 2),
            ("layer1.0.conv1.weight", 3), ("layer1.1.bn2.weight", 2),
            ("layer2.0.downsample.0.weight", 3), ("layer2.0.downsample.1.bias", 2), ("layer2.1.conv2.weight", 3),
            ("layer3.0.conv1.weight", 3), ("layer3.0.bn1.weight", 2), ("layer3.1.bn2.weight", 2), ("layer3.1.bn2.bias", 2),
        ], seed: 18)
    }

    func testEfficientNetLite0Student() {
        check(.efficientnetLite0, picks: [
            ("_conv_stem.weight", 3), ("_bn0.weight", 2),
            ("_blocks.1._depthwise_conv.weight", 3), ("_blocks.1._bn1.bias", 2),
            ("_blocks.3._expand_conv.weight", 2), ("_blocks.4._project_conv.weight", 2),
            ("_blocks.6._depthwise_conv.weight", 2), ("_blocks.9._bn2.weight", 2), ("_blocks.10._depthwise_conv.weight", 2),
        ], seed: 10, levelWeights: [1, 1, 0.1])
    }

    /// Bottlenecks pass their gradients between the workspace's inner and branch tensors and keep dy for
    /// the shortcut: a unit writing over a tensor still to be read shows here.
    func testResNet50HalfStudent() {
        check(.resnet50Half, picks: [
            ("conv_1.weight", 3), ("conv_1.bn.weight", 2),
            ("stage0.block0.branch2a.weight", 3), ("stage0.block0.proj_shortcut.weight", 3), ("stage0.block0.proj_shortcut.bn.bias", 2),
            ("stage0.block2.branch2b.weight", 3), ("stage0.block2.branch2b.bn.weight", 2),
            ("stage1.block0.branch2a.bn.bias", 2), ("stage1.block3.branch2c.weight", 3),
            ("stage2.block0.proj_shortcut.weight", 3), ("stage2.block5.branch2a.weight", 3), ("stage2.block5.branch2c.bn.weight", 2),
        ], seed: 50, h: 3e-4)
    }
}

extension SplitMix64 {
    mutating func tensor(like t: Tensor) -> Tensor {
        let r = Tensor(c: t.c, n: t.n, h: t.h, w: t.w)
        for i in 0..<r.count { r.data[i] = normal() }
        return r
    }
}
