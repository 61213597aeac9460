import ArgumentParser

struct Stpm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stpm",
        abstract: "Visual anomaly detection with Student-Teacher Feature Pyramid Matching, on the CPU.",
        subcommands: [TrainCommand.self, FeaturesCommand.self, BenchCommand.self, EvalCommand.self, CompareCommand.self, ScoreCommand.self, WatchCommand.self, ThresholdCommand.self, ExportCommand.self, ConsoleCommand.self, DemoDataCommand.self])
}

do {
    var command = try Stpm.parseAsRoot()
    try command.run()
} catch {
    Stpm.exit(withError: UserFacingError.wrap(error))
}
