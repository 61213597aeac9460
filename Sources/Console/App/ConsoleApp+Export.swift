import Foundation
import Detection

extension ConsoleApp {
    /// Runs the engine's export (`Inspection.export`, as `stpm export` does) with the threshold rule in
    /// force and the images flagged by hand, so the folder matches what `stpm export MODEL DATA --out DIR`
    /// with that rule writes, plus the reviewer's flags: flagged = over the threshold or flagged by hand,
    /// both recorded in report.csv and report.json.
    func startExport() {
        guard let modelPath = state.modelPath else { return }
        let destination = state.exportDestination
        let rule = state.currentThresholdRule
        let (samples, manualFlags) = dataset.exportSelection(state.rows)
        let events = self.events
        let exportDirectory = options.exportDirectory
        let thread = Thread {
            do {
                let inspection = try Inspection(modelPath: modelPath)
                let summary = try inspection.export(samples, threshold: rule, manualFlags: manualFlags, to: destination) { p in
                    events.push(.exportProgress("export: \(p.phase == .scoring ? "scoring" : "writing") \(p.done)/\(p.total)"))
                }
                let byHand = summary.manuallyFlagged == 0 ? "" : ", \(summary.manuallyFlagged) of them by hand"
                events.push(.exportFinished(
                    message: "Exported \(summary.flagged) of \(summary.images) images\(byHand) (threshold \(NumberFormat.short(Double(summary.threshold.value)))) to \(destination): \(summary.filesWritten) files",
                    nextDestination: Self.freshFolder(exportDirectory)))
            } catch {
                events.push(.exportFinished(message: "export failed: \(error)", nextDestination: nil))
            }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
