import Foundation
import Numerics

/// Image AUROC (score = map max), pixel AUROC and AU-PRO@0.3 of one group of test images.
/// A metric is NaN where it is undefined (one class missing, no defect region).
public struct EvaluationMetrics: Sendable {
    public var images: Int
    public var defective: Int
    public var imageAUROC: Double
    public var pixelAUROC: Double
    public var auPRO: Double
}

public struct EvaluationReport: Sendable {
    public var overall: EvaluationMetrics
    /// Per defect type, sorted by name: that type's images plus every good test image.
    public var perType: [(type: String, metrics: EvaluationMetrics)]
    /// Defective-folder images without a mask: counted in image AUROC, left out of the pixel metrics.
    public var withoutMask: [String]
    public var seconds: Double

    /// {"image_auroc", "pixel_auroc", "aupro_0.3", "per_type": {type: {...}}, "images", "seconds"};
    /// undefined metrics are null.
    public func json() throws -> Data {
        func entry(_ m: EvaluationMetrics) -> [String: Any] {
            func number(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
            return ["image_auroc": number(m.imageAUROC), "pixel_auroc": number(m.pixelAUROC), "aupro_0.3": number(m.auPRO),
                    "images": m.images, "defective": m.defective]
        }
        var root = entry(overall)
        root["per_type"] = Dictionary(uniqueKeysWithValues: perType.map { ($0.type, entry($0.metrics)) })
        root["seconds"] = seconds
        root["images_without_mask"] = withoutMask
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}

public enum Evaluation {
    /// Scores every test image of `dataset` with the model at `modelPath` and computes the metrics overall and per
    /// defect type. The model loads while its first test images are read; `seconds` counts from the end of loading.
    /// Stops at the first unreadable image or mask (see `LabelledScoring`).
    public static func run(modelPath: String, dataset: MVTecDataset, warn: (String) -> Void = { _ in },
                           progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> (AnomalyModel, EvaluationReport) {
        var reads: FileReads<Result<GroundTruth.Truth, Error>>?
        defer { reads?.stop() }
        let model = try AnomalyModel(path: modelPath) { config in
            reads = LabelledScoring.reads(of: dataset.test, size: config.size, batchSize: AnomalyModel.defaultBatchSize)
        }
        let started = Date()
        guard !dataset.test.isEmpty else { throw EvaluationError.noTestImages(dataset.root) }
        // The model calls `whileLoading` before it loads its weights; reading starts here should it ever not.
        let startedReads = reads ?? LabelledScoring.reads(of: dataset.test, size: model.size, batchSize: AnomalyModel.defaultBatchSize)
        reads = startedReads
        // Each map goes into the store and each mask becomes its regions as they arrive, on the lane that scored the
        // image: neither array is kept, and the lanes meet only after the last image.
        let size = model.size, maps = MapStore(count: dataset.test.count, pixels: size * size)
        var images = [Image?](repeating: nil, count: dataset.test.count)
        try images.withUnsafeMutableBufferPointer { images in
            nonisolated(unsafe) let images = images
            try LabelledScoring.forEachUnordered(model: model, samples: dataset.test, reads: startedReads, warn: warn, progress: {
                progress($0, dataset.test.count)
            }) { i, sample, scored, truth in
                maps.store(scored.map, at: i)
                images[i] = Image(sample: sample, score: scored.score, isDefective: truth.isDefective,
                                  regions: truth.mask.map { DefectRegions(mask: $0, width: size, height: size) })
            }
        }
        var result = report(images.map { $0! }, maps: .store(maps))
        result.seconds = Date().timeIntervalSince(started)
        return (model, result)
    }

    /// What the metrics take of a scored test image; its map comes apart (`PixelMetrics.Maps`).
    struct Image {
        var sample: DatasetSample
        var score: Float
        var isDefective: Bool
        /// Nil for a defect-folder image without a mask (pixel truth unknown).
        var regions: DefectRegions?
    }

    /// Metrics of already scored samples (`seconds` is left 0). The pixel metrics of all rows come from one
    /// sort of the test set's pixels (`PixelMetrics`).
    public static func report(_ scored: [ScoredSample], size: Int) -> EvaluationReport {
        var regions = [DefectRegions?](repeating: nil, count: scored.count)
        regions.withUnsafeMutableBufferPointer { regions in
            parallelFor(scored.count, work: scored.count * size * size) { range in
                for i in range { regions[i] = scored[i].mask.map { DefectRegions(mask: $0, width: size, height: size) } }
            }
        }
        return report(zip(scored, regions).map { Image(sample: $0.sample, score: $0.score, isDefective: $0.isDefective, regions: $1) },
                      maps: .arrays(scored.map(\.map)))
    }

    /// `maps` holds image i's map at i.
    static func report(_ images: [Image], maps: PixelMetrics.Maps) -> EvaluationReport {
        let groups = defectTypeGroups(Array(images.indices), type: { images[$0].sample.defectType })
        var memberOf = [[Int]](repeating: [], count: images.count)
        for (g, group) in groups.enumerated() { for i in group.items { memberOf[i].append(g) } }
        let withMask = images.indices.filter { images[$0].regions != nil }
        let pixel = PixelMetrics.compute(withMask.map { PixelMetrics.Image(map: $0, regions: images[$0].regions!, groups: memberOf[$0]) },
                                         maps: maps, groupCount: groups.count)
        let metrics = zip(groups, pixel).map { group, pixel in
            let items = group.items.map { images[$0] }
            return EvaluationMetrics(images: items.count, defective: items.filter(\.isDefective).count,
                                     imageAUROC: imageAUROC(scores: items.map(\.score), labels: items.map(\.isDefective)),
                                     pixelAUROC: pixel.pixelAUROC, auPRO: pixel.auPRO)
        }
        return EvaluationReport(overall: metrics[0], perType: zip(groups.dropFirst(), metrics.dropFirst()).map { ($0.name, $1) },
                                withoutMask: images.filter { $0.regions == nil }.map(\.sample.path),
                                seconds: 0)
    }

    /// "all" (every item), then per defect type in name order: that type's items plus every "good" item,
    /// so that each type's AUROC measures separating it from normal images.
    public static func defectTypeGroups<Item>(_ items: [Item], type: (Item) -> String) -> [(name: String, items: [Item])] {
        // Folder names compare as bytes: String equality would merge "café" in NFC and in NFD.
        let good = items.filter { type($0) == "good" }
        let types = Set(items.map { Array(type($0).utf8) }).map { String(decoding: $0, as: UTF8.self) }
            .filter { $0 != "good" }.sorted(by: byteOrder)
        return [("all", items)] + types.map { name in (name, good + items.filter { type($0).utf8.elementsEqual(name.utf8) }) }
    }
}

public enum EvaluationError: Error, CustomStringConvertible {
    case noTestImages(String)

    public var description: String {
        switch self {
        case .noTestImages(let root): "\(root) has no test images (expected test/<type>/*.png)"
        }
    }
}
