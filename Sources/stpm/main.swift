import ArgumentParser
import Numerics

struct Stpm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stpm",
        abstract: "Visual anomaly detection with Student-Teacher Feature Pyramid Matching, on the CPU.",
        subcommands: [TrainCommand.self, FeaturesCommand.self, BenchCommand.self, EvalCommand.self, CompareCommand.self, ScoreCommand.self, WatchCommand.self, ThresholdCommand.self, ExportCommand.self, ConsoleCommand.self, DemoDataCommand.self])
}

/// Where an empty argument ("" or "--out=") stands: never a usable path, name or number, and
/// Foundation's answer to an empty path is its own raw text (or the current folder).
func emptyArgument(_ arguments: [String]) -> String? {
    for (i, argument) in arguments.enumerated() {
        if argument.isEmpty {
            return i > 0 && arguments[i - 1].hasPrefix("--") ? "the value of \(arguments[i - 1])" : "argument \(i + 1)"
        }
        if argument.hasPrefix("--"), argument.hasSuffix("="), argument.firstIndex(of: "=") == argument.index(before: argument.endIndex) {
            return "the value of \(argument.dropLast())"
        }
    }
    return nil
}

BLASCore.restartWithReplacement()
Parallelism.configureBLAS()
do {
    if let empty = emptyArgument(Array(CommandLine.arguments.dropFirst())) {
        throw ValidationError("\(empty) is empty: give a path, a name or a number")
    }
    var command = try Stpm.parseAsRoot()
    try command.run()
} catch {
    Stpm.exit(withError: UserFacingError.wrap(error))
}
