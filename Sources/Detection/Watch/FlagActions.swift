import FileOutput
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
        try copyFile(path, to: folder + "/" + name)
    }

    /// Copies in chunks through `AtomicFile`, so the folder never shows half a file.
    private func copyFile(_ source: String, to target: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw ModelStoreError.writeFailed(target, "cannot read \(source): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        do {
            try AtomicFile.write(to: target) { fd in
                var chunk = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let n = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    guard n >= 0 else {
                        throw FileOutputError(path: target, reason: "cannot read \(source): \(String(cString: strerror(errno)))")
                    }
                    if n == 0 { return }
                    try chunk.withUnsafeBytes { try AtomicFile.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0.prefix(n)), path: target) }
                }
            }
        } catch let error as FileOutputError {
            throw ModelStoreError.writeFailed(target, error.reason)
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
