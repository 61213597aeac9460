import ArgumentParser
import Foundation
import Backbones
import Detection
import Numerics

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a student on the normal images of DATA/train/good (MVTec AD layout), or of a plain folder DATA.")

    @Argument(help: "Dataset root (MVTec AD layout), or a folder whose images (recursively) are all normal.") var data: String
    @Option(help: "Model directory to write.") var out: String
    @OptionGroup var training: TrainingArguments
    @Flag(help: "Continue the stopped run in --out with its own options.") var resume = false

    func run() throws {
        let store = ModelStore(path: out)
        let requested = try training.options()
        // --resume continues with the options the run was started with, whatever the command line says.
        let options = resume ? try TrainingSession.storedOptions(store) : requested
        let dataset = try MVTecDataset(root: data)
        for problem in dataset.problems { warn(problem) }
        SignalFlag.install()
        let progress = ProgressPrinter()
        let outcome = try TrainingSession(store: store, imagePaths: dataset.train.map(\.path), options: options,
                                          resume: resume, events: { progress.show($0) }).run()
        progress.finish()
        switch outcome {
        case .finished(let best): print("done: best epoch \(best.map(String.init) ?? "-"), model in \(out)")
        case .interrupted: print("interrupted: `stpm train \(data) --out \(out) --resume` continues")
        }
    }
}

/// A one-line progress bar on a terminal; plain lines (one per epoch) in a pipe.
final class ProgressPrinter {
    let tty = isatty(STDOUT_FILENO) != 0
    var lastDraw = Date.distantPast

    func show(_ event: TrainingEvent) {
        switch event {
        case .message(let m):
            clear(); print(m)
        case .step(let p):
            guard tty, Date().timeIntervalSince(lastDraw) > 0.2 || p.step == p.stepsPerEpoch else { return }
            lastDraw = Date()
            let done = Double(p.stepsDone) / Double(p.epochs * p.stepsPerEpoch)
            let width = 20, filled = Int(done * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let losses = p.levelLosses.map { String(format: "%.4f", $0) }.joined(separator: " ")
            print(String(format: "\r\u{1B}[2K%@ epoch %d/%d step %d/%d  loss %@ = %.4f  %.1f img/s  ETA %@",
                         bar, p.epoch + 1, p.epochs, p.step, p.stepsPerEpoch, losses, p.total, p.imagesPerSecond,
                         duration(p.secondsRemaining)), terminator: "")
            fflush(stdout)
        case .epoch(let e):
            clear()
            let val = e.validationScore.map { String(format: "held-out mean score %.6g", $0) } ?? "no held-out images"
            print(String(format: "epoch %d: %@%@ (%.1f s)", e.epoch, val, e.isBest ? " *best*" : "", e.seconds))
            fflush(stdout)
        }
    }

    func clear() { if tty { print("\r\u{1B}[2K", terminator: "") } }
    func finish() { clear() }

    func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t / 60 % 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}
