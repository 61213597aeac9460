import Foundation
import ImageIO

// Export: what `stpm export` and the console both reach through `Inspection.export`.
//
// - For every flagged image (score >= threshold, or flagged by hand in the console) writes, at model resolution:
//     <stem>_panel.png  image | heatmap overlay | outlines: predicted mask red, ground truth green
//     <stem>_mask.png   predicted mask, 0/255: map >= the same threshold, pixel by pixel
//   where <stem> is the path relative to the samples' common folder (`reportFileStems`), e.g. "cut_000".
// - Then report.csv and report.json for all images (path, type, score, flagged, threshold, defective,
//   over_threshold, manual_flag). They are written last, so their presence means the export completed.
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
    /// Over the threshold or flagged by hand.
    public var flagged: Int
    /// Flagged by hand (some of them may also be over the threshold).
    public var manuallyFlagged: Int
    /// Flagged images that are defective by their ground truth (when labels exist).
    public var truePositives: Int
    public var defective: Int
    public var filesWritten: Int
}

public enum ExportError: Error, CustomStringConvertible {
    case notEmpty(String)
    case notAFolder(String)
    case writeFailed(file: String, reason: String, written: Int)
    case unknownManualFlag(String)

    public var description: String {
        switch self {
        case .notEmpty(let d): "\(d) exists and is not empty; choose another --out or pass --force to write into it"
        case .notAFolder(let d): "\(d) exists and is not a folder"
        case let .writeFailed(file, reason, written):
            "export failed writing \(file): \(reason). \(written) files were written before; no partial file was left and the export is incomplete (no report.csv/report.json unless listed as written)"
        case .unknownManualFlag(let p): "\(p) is flagged by hand but is not among the exported images"
        }
    }
}

public enum Exporter {
    /// Writes the export of already scored samples; `manualFlags` are sample paths flagged by hand.
    static func write(_ scored: [ScoredSample], threshold: Threshold, manualFlags: Set<String>, size: Int,
                      outDir: String, progress: (ExportProgress) -> Void) throws -> ExportSummary {
        if let unknown = manualFlags.subtracting(scored.map(\.sample.path)).sorted().first {
            throw ExportError.unknownManualFlag(unknown)
        }
        let stems = reportFileStems(for: scored.map(\.sample.path))
        var written = 0
        func write(_ name: String, _ body: (String) throws -> Void) throws {
            let file = outDir + "/" + name
            do { try body(file) } catch {
                let reason = (error as? ImageIOError)?.message ?? (error as? ModelStoreError).map { "\($0)" } ?? "\(error)"
                throw ExportError.writeFailed(file: file, reason: reason, written: written)
            }
            written += 1
        }

        let rows = scored.map { s in
            let over = threshold.flags(s.score), manual = manualFlags.contains(s.sample.path)
            return ExportRow(path: s.sample.path, type: s.sample.defectType, score: s.score.isFinite ? s.score : nil, flagged: over || manual,
                             threshold: threshold.value, defective: s.isDefective, overThreshold: over, manualFlag: manual)
        }
        let flaggedIndices = rows.indices.filter { rows[$0].flagged }
        for (k, i) in flaggedIndices.enumerated() {
            let s = scored[i]
            let image = try ImagePreparation.load(s.sample.path, size: size)
            let predicted = OverlayPanels.predictedMask(map: s.map, threshold: threshold.value)
            try write(stems[i] + "_panel.png") {
                try PNGFile.write(panel(image: image, map: s.map, score: s.score, truth: s.mask, predicted: predicted,
                                        threshold: threshold.value), path: $0)
            }
            try write(stems[i] + "_mask.png") {
                try PNGFile.write(OverlayPanels.maskImage(predicted, size: size), path: $0)
            }
            progress(ExportProgress(phase: .writing, done: k + 1, total: flaggedIndices.count))
        }

        try write("report.csv") { try ExportRow.csv(rows).write(to: $0) }
        try write("report.json") { try writeAtomically(try ExportRow.json(rows, threshold: threshold), to: $0) }
        return ExportSummary(outDir: outDir, threshold: threshold, images: scored.count, flagged: flaggedIndices.count,
                             manuallyFlagged: rows.filter(\.manualFlag).count,
                             truePositives: flaggedIndices.filter { scored[$0].isDefective }.count,
                             defective: scored.filter(\.isDefective).count, filesWritten: written)
    }

    /// image | heatmap overlay | image with the predicted (red) and ground-truth (green, when known) outlines.
    static func panel(image: Image8, map: [Float], score: Float, truth: [Bool]?, predicted: [Bool], threshold: Float) -> Image8 {
        let scale = OverlayHeatmap.scale(mapMax: score, threshold: threshold)
        let heat = OverlayHeatmap.overlay(image: image, map: map, scale: scale)
        var outlined = image
        if let truth { OverlayPanels.drawOutline(truth, on: &outlined, color: OverlayPanels.truthColor) }
        OverlayPanels.drawOutline(predicted, on: &outlined, color: OverlayPanels.predictedColor)
        return OverlayPanels.sideBySide([image, heat, outlined])
    }

    static func prepare(_ dir: String, force: Bool) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw ExportError.notAFolder(dir) }
            // A killed export's temporaries are not the user's files: they go, and do not make the folder non-empty.
            StaleTemporaries.remove(in: dir)
            let contents = try FileManager.default.contentsOfDirectory(atPath: dir)
            guard contents.isEmpty || force else { throw ExportError.notEmpty(dir) }
        } else {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw ExportError.writeFailed(file: dir, reason: error.localizedDescription, written: 0)
            }
        }
    }
}
