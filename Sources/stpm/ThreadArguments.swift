import ArgumentParser
import Numerics

/// --threads for every command that runs the networks. A line PC that shares its cores with the camera's
/// own software caps stpm here rather than with taskset; the image readers and the metrics keep to it too.
struct ThreadArguments: ParsableArguments {
    @Option(help: "Threads for the networks, image reading and the metrics (default: all cores).") var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// Applies --threads to the process.
    func apply() { if let threads { Parallelism.set(threads) } }
}
