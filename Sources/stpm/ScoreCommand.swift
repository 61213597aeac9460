import ArgumentParser
import Foundation
import Detection

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score images (PNG, JPEG, TIFF or BMP files, or folders of them, recursively) with MODEL.",
        discussion: """
        Prints score, flagged (score >= the model's stored threshold; "-" without one) and path per image. \
        --maps writes per image <name>_overlay.png (the image blended with a jet colormap of the map on [0, scale]) \
        and <name>_map16.png (16-bit gray, value = map / scale * 65535), at model resolution, where \
        scale = max(2 x threshold, the image's map max), so every image below twice the threshold shares one scale; \
        the scale of each image is in the CSV (map_scale). <name> is the path relative to the inputs' common folder \
        with "/" as "_". An unreadable image is reported and skipped; the exit status is then 1. \
        --shard I/N scores only the files whose path below the inputs' common folder hashes to I (of N): run it \
        with I = 0..N-1 on as many machines and concatenate the CSVs (deploy/merge-scores).
        """)

    @Argument(help: "Model directory (from stpm train).") var model: String
    @Argument(help: "Image files or folders.") var paths: [String]
    @Option(help: "Write path,score,flagged,threshold,map_scale,overlay,map16,error to this CSV file.") var csv: String?
    @Option(help: "Write an overlay PNG and a 16-bit map PNG per image into this folder.") var maps: String?
    @Option(help: "Score only shard I of N (0 <= I < N), a fixed share of the files by path hash.") var shard: String?
    @OptionGroup var threading: ThreadArguments

    func validate() throws {
        if let shard, Shard(shard) == nil { throw ValidationError("--shard \(shard): expected I/N with 0 <= I < N, such as 0/4") }
    }

    func run() throws {
        threading.apply()
        let inspection = try Inspection(modelPath: model)
        let everything = try scanImageFolder(paths: paths)
        // Stems come from all files, so the shards' map files never collide in a shared --maps folder.
        let picked = shard.flatMap(Shard.init)?.select(everything) ?? Array(everything.indices)
        let files = picked.map { everything[$0] }
        let allStems = reportFileStems(for: everything)
        let stems = picked.map { allStems[$0] }
        let threshold = inspection.model.config.threshold?.value
        if let maps { try MapImages.prepare(maps) }
        var table = ReportsCSV(header: ["path", "score", "flagged", "threshold", "map_scale", "overlay", "map16", "error"])
        var failures = 0
        let thresholdText = threshold.map(formatScore) ?? ""
        print("score      flagged  path" + (threshold.map { "   (threshold \(formatScore($0)))" } ?? "   (no stored threshold)"))
        try inspection.scoreFiles(files) { i, result in
            switch result {
            case .failure(let error):
                failures += 1
                reportError("\(error)")
                table.append([files[i], "", "", thresholdText, "", "", "", "\(error)"])
            case .success(let scored):
                let flagged = threshold.map { String(scored.score >= $0) } ?? ""
                let scale = OverlayHeatmap.scale(mapMax: scored.score, threshold: threshold)
                var written = ["", ""]
                if let maps { written = try MapImages.write(scored, scale: scale, stem: stems[i], into: maps) }
                let shown = flagged.isEmpty ? "-" : flagged
                print(formatScore(scored.score).padding(toLength: 10, withPad: " ", startingAt: 0) + " "
                      + shown.padding(toLength: 8, withPad: " ", startingAt: 0) + " " + files[i])
                table.append([files[i], formatScore(scored.score), flagged, thresholdText, formatScore(scale)] + written + [""])
            }
        }
        if let csv { try table.write(to: csv) }
        if failures > 0 {
            note("\(failures) of \(files.count) images could not be read (listed above)")
            throw ExitCode(1)
        }
    }
}
