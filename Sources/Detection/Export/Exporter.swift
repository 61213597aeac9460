import Foundation
import ImageIO

// Export: the API that `stpm export` and the console both call.
//
//     let summary = try Exporter.run(model: model, samples: dataset.test, threshold: .stored,
//                                    outDir: "out", force: false) { progress in ... }
//
// - Scores every sample (stopping at an unreadable image or mask, whose error names the file), then
//   resolves `threshold` (`ThresholdRule`: stored, value, percentile of held-out normal scores, or F1
//   over these samples' labels).
// - For every flagged image (score >= threshold) writes, at model resolution:
//     <stem>_panel.png  image | heatmap overlay | outlines: predicted mask red, ground truth green
//     <stem>_mask.png   predicted mask, 0/255: map >= the same threshold, pixel by pixel
//   where <stem> is the path relative to the samples' common folder (`reportFileStems`), e.g. "cut_000".
// - Then report.csv and report.json for all images (path, type, score, flagged, threshold, defective).
//   They are written last, so their presence means the export completed.
// - Refuses an existing non-empty `outDir` unless `force` (then files of the same name are replaced and
//   other files are left alone).
// - Every file is written to a temporary name and renamed, so a failure (full disk) never leaves a half
//   file under a final name; the error (`ExportError.writeFailed`) names the file and says how many were written.

public struct ExportProgress: Sendable {
    public enum Phase: Sendable { case scoring, writing }
    public var phase: Phase
    public var done: Int
    public var total: Int
}

public struct ExportSummary: Sendable {
    public var outDir: String
    public var threshold: Threshold
    public var images: Int
    public var flagged: Int
    /// Flagged images that are defective by their ground truth (when labels exist).
    public var truePositives: Int
    public var defective: Int
    public var filesWritten: Int
}

public enum ExportError: Error, CustomStringConvertible {
    case notEmpty(String)
    case notAFolder(String)
    case writeFailed(file: String, reason: String, written: Int)

    public var description: String {
        switch self {
        case .notEmpty(let d): "\(d) exists and is not empty; choose another --out or pass --force to write into it"
        case .notAFolder(let d): "\(d) exists and is not a folder"
        case let .writeFailed(file, reason, written):
            "export failed writing \(file): \(reason). \(written) files were written before; no partial file was left and the export is incomplete (no report.csv/report.json unless listed as written)"
        }
    }
}

public enum Exporter {
    public static func run(model: AnomalyModel, samples: [DatasetSample], threshold rule: ThresholdRule,
                           outDir: String, force: Bool,
                           progress: (ExportProgress) -> Void = { _ in }) throws -> ExportSummary {
        try prepare(outDir, force: force)
        let scored = try LabelledScoring.score(model: model, samples: samples) {
            progress(ExportProgress(phase: .scoring, done: $0, total: samples.count))
        }
        let threshold = try rule.resolve(model: model, labelled: scored)
        let stems = reportFileStems(for: samples.map(\.path))
        var written = 0
        func write(_ name: String, _ body: (String) throws -> Void) throws {
            let file = outDir + "/" + name
            do { try body(file) } catch {
                let reason = (error as? ImageIOError)?.message ?? (error as? ModelStoreError).map { "\($0)" } ?? "\(error)"
                throw ExportError.writeFailed(file: file, reason: reason, written: written)
            }
            written += 1
        }

        let flaggedIndices = scored.indices.filter { threshold.flags(scored[$0].score) }
        for (k, i) in flaggedIndices.enumerated() {
            let s = scored[i]
            let image = try ImagePreparation.load(s.sample.path, size: model.size)
            let predicted = OverlayPanels.predictedMask(map: s.map, threshold: threshold.value)
            try write(stems[i] + "_panel.png") {
                try PNGFile.write(panel(image: image, scored: s, predicted: predicted, threshold: threshold.value), path: $0)
            }
            try write(stems[i] + "_mask.png") {
                try PNGFile.write(OverlayPanels.maskImage(predicted, size: model.size), path: $0)
            }
            progress(ExportProgress(phase: .writing, done: k + 1, total: flaggedIndices.count))
        }

        let rows = scored.map { s in
            ExportRow(path: s.sample.path, type: s.sample.defectType, score: s.score, flagged: threshold.flags(s.score),
                      threshold: threshold.value, defective: s.isDefective)
        }
        try write("report.csv") { try ExportRow.csv(rows).write(to: $0) }
        try write("report.json") { try writeAtomically(try ExportRow.json(rows, threshold: threshold), to: $0) }
        return ExportSummary(outDir: outDir, threshold: threshold, images: scored.count, flagged: flaggedIndices.count,
                             truePositives: flaggedIndices.filter { scored[$0].isDefective }.count,
                             defective: scored.filter(\.isDefective).count, filesWritten: written)
    }

    /// image | heatmap overlay | image with the predicted (red) and ground-truth (green) outlines.
    static func panel(image: Image8, scored s: ScoredSample, predicted: [Bool], threshold: Float) -> Image8 {
        let scale = OverlayHeatmap.scale(mapMax: s.score, threshold: threshold)
        let heat = OverlayHeatmap.overlay(image: image, map: s.map, scale: scale)
        var outlined = image
        if let truth = s.mask { OverlayPanels.drawOutline(truth, on: &outlined, color: OverlayPanels.truthColor) }
        OverlayPanels.drawOutline(predicted, on: &outlined, color: OverlayPanels.predictedColor)
        return OverlayPanels.sideBySide([image, heat, outlined])
    }

    static func prepare(_ dir: String, force: Bool) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw ExportError.notAFolder(dir) }
            let contents = try FileManager.default.contentsOfDirectory(atPath: dir)
            guard contents.isEmpty || force else { throw ExportError.notEmpty(dir) }
        } else {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw ExportError.writeFailed(file: dir, reason: error.localizedDescription, written: 0)
            }
        }
    }
}
