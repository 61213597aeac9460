import XCTest
import Numerics
import Backbones
@testable import Detection
import TestSupport

/// One STPM training run on ResNet-18 checked against ../shared/reference/resnet18 (PyTorch, float64):
/// taps, maps, scores, losses, every gradient, parameters and running statistics over two SGD steps.
final class ResNet18ReferenceTests: XCTestCase {
    var dir: String { SharedData.root.appendingPathComponent("reference/resnet18").path }

    func absError(_ a: [Float], _ ref: [Float]) -> Double {
        zip(a, ref).reduce(0.0) { max($0, Double(abs($1.0 - $1.1))) }
    }

    /// The reference keeps output channels [0,1,2,3,O-4..O-1] of large conv tensors.
    func sliceLike(_ values: [Float], shape: [Int], stored: [Int]) -> [Float] {
        guard shape.count == 4, stored[0] == 8, shape[0] > 8 else { return values }
        let per = shape[1] * shape[2] * shape[3], o = shape[0]
        return [0, 1, 2, 3, o - 4, o - 3, o - 2, o - 1].flatMap { Array(values[($0 * per)..<(($0 + 1) * per)]) }
    }

    func testTwoTrainingStepsMatchPyTorch() throws {
        _ = try SharedData.require("reference")
        let expected = try SafetensorsFile(path: dir + "/expected.safetensors")
        let inputs = try SafetensorsFile(path: dir + "/input.safetensors")
        let teacher = BackboneKind.resnet18.make(role: .teacher)
        try teacher.load(from: SafetensorsFile(path: dir + "/teacher.safetensors"))
        let student = BackboneKind.resnet18.make(role: .student)
        try student.load(from: SafetensorsFile(path: dir + "/student.safetensors"))
        let x = Tensor.fromNCHW(try inputs.floats("input"), n: 2, c: 3, h: 64, w: 64)

        func check(_ got: [Float], _ name: String, rel tol: Double, file: StaticString = #filePath, line: UInt = #line) throws {
            let ref = try expected.floats(name)
            assertClose(got, ref, tolerance: tol, name, file: file, line: line)
        }

        let t = teacher.forward(x)
        for l in 0..<3 { try check(t[l].toNCHW(), "teacher.layer\(l + 1)", rel: 1e-4) }
        let tn = TapNormalizer()(t)

        student.setTraining(false)
        let se = student.forward(x)
        for l in 0..<3 { try check(se[l].toNCHW(), "student.eval.layer\(l + 1)", rel: 1e-4) }
        let mapper = AnomalyMapper(height: 64, width: 64)
        let (maps, levels) = mapper.compute(teacher: tn, student: se, keepLevels: true)
        for l in 0..<3 {
            try check(levels[2 * l], "amap.layer\(l + 1)", rel: 1e-4)
            try check(levels[2 * l + 1], "amap_up.layer\(l + 1)", rel: 1e-4)
        }
        try check(maps, "amap.final", rel: 1e-4)
        try check(mapper.scores(), "score", rel: 1e-4)

        let loss = PyramidLoss()
        let sgd = SGD(learningRate: 0.4, momentum: 0.9, weightDecay: 1e-4)
        student.setTraining(true)
        for step in 1...2 {
            let s = student.forward(x)
            if step == 1 { for l in 0..<3 { try check(s[l].toNCHW(), "student.train.layer\(l + 1)", rel: 1e-4) } }
            let levels = loss.forward(teacher: tn, student: s)
            for l in 0..<3 { try check([Float(levels[l])], "loss.step\(step).layer\(l + 1)", rel: 1e-5) }
            try check([Float(levels.reduce(0, +))], "loss.step\(step).total", rel: 1e-5)
            student.backward { t, g, adding in loss.gradient(level: t, teacher: tn, student: s[t], into: g, adding: adding) }
            for p in student.parameters {
                let name = "grad.step\(step).\(p.name)"
                guard let stored = expected.shape(name) else { XCTFail("reference lacks \(name)"); continue }
                try check(sliceLike(p.gradients, shape: p.shape, stored: stored), name, rel: step == 1 ? 1e-3 : 0.05)
            }
            sgd.step(student.parameters)
            for p in student.state {
                if p.trainable {
                    let name = "param.step\(step).\(p.name)"
                    let stored = try XCTUnwrap(expected.shape(name), name)
                    let e = absError(sliceLike(p.values, shape: p.shape, stored: stored), try expected.floats(name))
                    XCTAssertLessThanOrEqual(e, step == 1 ? 1e-5 : 1e-3, "\(name): absolute error \(e)")
                } else {
                    try check(p.values, "running.step\(step).\(p.name)", rel: 1e-4)
                }
            }
        }

        student.setTraining(false)
        let after = student.forward(x)
        let (maps2, _) = mapper.compute(teacher: tn, student: after)
        try check(maps2, "after2.amap.final", rel: 5e-3)
        try check(mapper.scores(), "after2.score", rel: 5e-3)
    }

    /// What scoring runs: a frozen student (BatchNorm folded), on 2 threads even on a 1-core machine, so the
    /// batch's two images run in two lanes, the second on replicas of the networks.
    func testInferenceMapsMatchPyTorch() throws {
        _ = try SharedData.require("reference")
        let expected = try SafetensorsFile(path: dir + "/expected.safetensors")
        let teacher = BackboneKind.resnet18.make(role: .teacher)
        try teacher.load(from: SafetensorsFile(path: dir + "/teacher.safetensors"))
        let student = BackboneKind.resnet18.make(role: .frozenStudent)
        try student.load(from: SafetensorsFile(path: dir + "/student.safetensors"))
        let x = Tensor.fromNCHW(try SafetensorsFile(path: dir + "/input.safetensors").floats("input"), n: 2, c: 3, h: 64, w: 64)
        let saved = Parallelism.threads
        Parallelism.set(2)
        defer { Parallelism.set(saved) }
        let (maps, scores) = MapInference(teacher: teacher, student: student, size: 64)(x)
        for (got, name) in [(maps.flatMap { $0 }, "amap.final"), (scores, "score")] {
            assertClose(got, try expected.floats(name), tolerance: 1e-4, name)
        }
    }
}
