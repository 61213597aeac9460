import Foundation
import Detection

extension ConsoleApp {
    /// Runs the same `Exporter` as `stpm export`, with the threshold rule in force, so the
    /// folder matches what `stpm export MODEL DATA --out DIR` with that rule writes. Manual
    /// flags are the reviewer's, not the model's: they are listed in manual_flags.txt.
    func startExport() {
        guard !exporting else { state.status = "an export is already running"; return }
        guard let modelPath else { state.status = "no model open: nothing was scored"; return }
        exporting = true
        let destination = state.exportDestination
        let rule = currentThresholdRule
        let samples = dataset.testSamples
        let manual = state.rows.filter(\.manuallyFlagged).map { dataset.samples[$0.id].path }
        let events = self.events
        let thread = Thread {
            do {
                let model = try AnomalyModel(path: modelPath)
                let summary = try Exporter.run(model: model, samples: samples, threshold: rule, outDir: destination, force: false) { p in
                    events.push(.exportProgress("export: \(p.phase == .scoring ? "scoring" : "writing") \(p.done)/\(p.total)"))
                }
                if !manual.isEmpty {
                    try writeAtomically(Data((manual.joined(separator: "\n") + "\n").utf8), to: destination + "/manual_flags.txt")
                }
                let extra = manual.isEmpty ? "" : " and manual_flags.txt (\(manual.count))"
                events.push(.exportFinished(
                    message: "Exported \(summary.flagged) of \(summary.images) images (threshold \(NumberFormat.short(Double(summary.threshold.value)))) to \(destination): \(summary.filesWritten) files\(extra)",
                    failed: false))
            } catch {
                events.push(.exportFinished(message: "export failed: \(error)", failed: true))
            }
        }
        thread.stackSize = 8 << 20
        thread.start()
        state.status = "exporting to \(destination)…"
    }
}
