import Foundation
import ImageIO

/// What happens to a flagged image besides its log line: the export panel and the original file copied
/// into a folder (each written to a temporary name and renamed, so the folder never shows half a file),
/// and a command run with the image's path and score as its two last arguments.
struct FlagActions {
    var folder: String?
    var command: String?
    var commandTimeout: Double

    /// Writes `<name>_panel.png` and `<name>.<ext>` into the folder, where `name` is the image's path
    /// below its watched folder with "/" as "_" (the same image flagged again replaces its files).
    func copy(path: String, name: String, image: Image8, map: [Float], score: Float, threshold: Float) throws {
        guard let folder else { return }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let predicted = OverlayPanels.predictedMask(map: map, threshold: threshold)
        let panel = Exporter.panel(image: image, map: map, score: score, truth: nil, predicted: predicted, threshold: threshold)
        try PNGFile.write(panel, path: folder + "/" + (name as NSString).deletingPathExtension + "_panel.png")
        let target = folder + "/" + name
        let temporary = folder + "/.\(name).\(getpid()).tmp"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.copyItem(atPath: path, toPath: temporary)
        guard rename(temporary, target) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw ModelStoreError.writeFailed(target, why)
        }
    }

    /// Runs the command through /bin/sh with the path and score appended as arguments ($1, $2 of a
    /// script). Returns why it failed (exit status, killed after the timeout, could not start), nil on success.
    func run(path: String, score: Float) -> String? {
        guard let command else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command + " \"$@\"", "sh", path, formatScore(score)]
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch { return "could not start: \(error.localizedDescription)" }
        if done.wait(timeout: .now() + commandTimeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            done.wait()
            return "killed after \(formatScore(Float(commandTimeout))) s"
        }
        switch process.terminationReason {
        case .exit: return process.terminationStatus == 0 ? nil : "exit status \(process.terminationStatus)"
        case .uncaughtSignal: return "ended by signal \(process.terminationStatus)"
        @unknown default: return "ended abnormally"
        }
    }
}
