import ArgumentParser
import Foundation
import Backbones
import Detection
import Numerics

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure forward, inference and training throughput of each backbone (images per second).",
        discussion: """
            Each figure is followed by its effective GFLOP/s (convolution FLOPs per image, counted from the
            layer shapes) and its percentage of the sgemm rate measured on the same threads in the same run
            (the faster of stpm's AVX-512 kernel, where the processor has AVX-512, and OpenBLAS).
            train b8 is what `stpm train` does per batch: the images converted, then the student's forward,
            backward and update against the teacher's features, which training computes once and caches.
            """)

    @Option(help: "Input size (square).") var size = 256
    @Option(help: "Backbones to measure (comma-separated).", transform: commaSeparated) var backbones: [BackboneKind] = BackboneKind.allCases
    @Option(help: "Timed repetitions per measurement (the best is kept).") var repeats = 3
    @Option(help: "Threads for GEMMs and hand-written loops (default: all cores).") var threads: Int?
    @Flag(help: "Measure only training throughput.") var trainOnly = false
    @Flag(help: "Measure only stpm-infer (teacher, student and anomaly map), e.g. to profile it.") var inferOnly = false
    @Flag(help: "One JSON object per backbone instead of the table (for scripts/bench_peers.py).") var json = false

    func validate() throws {
        if trainOnly && inferOnly { throw ValidationError("--train-only and --infer-only exclude each other.") }
    }

    func run() throws {
        if let threads { Parallelism.set(threads) }
        // The convolutions' own GEMM (stpm's AVX-512 kernel where it runs) and OpenBLAS's, on the same threads.
        let stpmRate = InstructionSet.avx512 ? measureSGEMM(repeats: repeats) * 1e9 : nil
        let blasRate = InstructionSet.with(avx512: false) { measureSGEMM(repeats: repeats) } * 1e9
        let peak = max(stpmRate ?? 0, blasRate)
        if !json {
            let blas = String(format: "OpenBLAS \(blasCoreName) %.1f GFLOP/s", blasRate / 1e9)
            let rates = stpmRate.map { String(format: "stpm AVX-512 sgemm 1536^3 %.1f GFLOP/s; ", $0 / 1e9) + blas }
                ?? "sgemm 1536^3 " + blas
            print("stpm bench: \(size)x\(size), \(Parallelism.threads) threads, images/s (best of \(repeats)); " + rates)
            print("then per figure: GFLOP/s and % of the faster sgemm rate")
            print("backbone             GFLOP/img   fwd b1   fwd b8   stpm-infer b1   stpm-infer b8   train b8")
        }
        for kind in backbones {
            let r = Benchmark.run(kind, size: size, repeats: repeats, trainOnly: trainOnly, inferOnly: inferOnly)
            let figures = [(r.forwardBatch1, r.forwardFLOPs), (r.forwardBatch8, r.forwardFLOPs),
                           (r.stpmInferenceBatch1, r.inferenceFLOPs), (r.stpmInferenceBatch8, r.inferenceFLOPs),
                           (r.trainBatch8, r.trainFLOPs)]
            if json {
                print(jsonLine(r, peak: peak, blasRate: blasRate, stpmRate: stpmRate))
                continue
            }
            let widths = [8, 8, 15, 15, 10]
            let name = kind.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)
            print(name + String(format: " %9.2f", r.inferenceFLOPs / 1e9)
                  + zip(figures, widths).map { " " + rightAligned(String(format: "%.1f", $0.0), $1) }.joined())
            print(String(repeating: " ", count: 30) + zip(figures, widths).map { f, w in
                let rate = f.0 * f.1
                return " " + rightAligned(String(format: "%.0f %.0f%%", rate / 1e9, 100 * rate / peak), w)
            }.joined())
        }
    }

    private func rightAligned(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }

    private func jsonLine(_ r: BenchmarkResult, peak: Double, blasRate: Double, stpmRate: Double?) -> String {
        let fields: [String: Any] = [
            "backbone": r.backbone.rawValue, "size": r.size, "threads": Parallelism.threads, "isa": InstructionSet.name,
            "sgemmGFLOPS": peak / 1e9, "blasSgemmGFLOPS": blasRate / 1e9, "stpmSgemmGFLOPS": (stpmRate ?? 0) / 1e9, "blasCore": blasCoreName,
            "forwardBatch1": r.forwardBatch1, "forwardBatch8": r.forwardBatch8,
            "inferBatch1": r.stpmInferenceBatch1, "inferBatch8": r.stpmInferenceBatch8, "trainBatch8": r.trainBatch8,
            "gflopPerImage": ["forward": r.forwardFLOPs / 1e9, "infer": r.inferenceFLOPs / 1e9, "train": r.trainFLOPs / 1e9],
        ]
        let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
