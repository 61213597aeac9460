import ArgumentParser
import Foundation
import Backbones
import Detection
import Numerics

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure forward and training throughput of each backbone (images per second).")

    @Option(help: "Input size (square).") var size = 256
    @Option(help: "Backbones to measure (comma-separated).") var backbones = BackboneKind.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Timed repetitions per measurement (the best is kept).") var repeats = 3
    @Option(help: "Threads for GEMMs and hand-written loops (default: all cores).") var threads: Int?
    @Flag(help: "Measure only training throughput.") var trainOnly = false

    func run() throws {
        if let threads { Parallelism.set(threads) }
        print("stpm bench: \(size)x\(size), \(Parallelism.threads) threads, images/s (best of \(repeats))")
        print("backbone              fwd b1   fwd b8   stpm-infer b8   train b8")
        for name in backbones.split(separator: ",") {
            guard let kind = BackboneKind(rawValue: String(name)) else {
                throw ValidationError("unknown backbone '\(name)'; choose from \(BackboneKind.allCases.map(\.rawValue))")
            }
            let r = Benchmark.run(kind, size: size, repeats: repeats, trainOnly: trainOnly)
            let name = kind.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)
            print(name + String(format: " %8.1f %8.1f %15.1f %10.1f", r.forwardBatch1, r.forwardBatch8,
                                r.stpmInferenceBatch8, r.trainBatch8))
        }
    }
}
