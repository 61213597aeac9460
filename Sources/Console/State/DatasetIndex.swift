import Detection

/// The dataset as the console lists it: every train and test image gets a row id, which
/// is its index into `samples`; the scorer, the inspector and export look samples up by it
/// (`sample(_:)`, which also knows the watched images the live list keeps).
struct DatasetIndex {
    private(set) var samples: [DatasetSample]
    /// The newest watched images, oldest first, with consecutive ids after the dataset's.
    private var watched: [(id: Int, sample: DatasetSample)] = []
    /// Per sample, the engine's label (`GroundTruth`): nil for training images, watched images and a test
    /// image whose mask cannot be read (listed in `problems`).
    private(set) var labels: [Bool?]
    let problems: [String]

    init(_ dataset: MVTecDataset) {
        samples = dataset.train + dataset.test
        var problems: [String] = []
        labels = samples.map { sample in
            do { return try GroundTruth.isDefective(sample) } catch {
                problems.append("\(error)")
                return nil
            }
        }
        self.problems = problems
    }

    init() { samples = []; labels = []; problems = [] }

    /// A watched image joins under the id `ConsoleState.watched` lists it with; like the list, the index
    /// keeps only the newest `keep`.
    mutating func append(watched path: String, id: Int, keep: Int) {
        watched.append((id, DatasetSample(path: path, split: .test, defectType: "live", maskPath: nil)))
        if watched.count > keep { watched.removeFirst(watched.count - keep) }
    }

    /// The image listed under `id`; nil for a watched image the list no longer keeps.
    func sample(_ id: Int) -> DatasetSample? {
        if samples.indices.contains(id) { return samples[id] }
        guard let first = watched.first?.id, watched.indices.contains(id - first) else { return nil }
        return watched[id - first].sample
    }

    var testSamples: [DatasetSample] { samples.filter { $0.split == .test } }
    var testIDs: [Int] { samples.indices.filter { samples[$0].split == .test } }

    /// Tree folders in scan order (train first, then the test types, sorted).
    var groups: [DatasetGroup] {
        var out: [DatasetGroup] = []
        for s in samples {
            if let last = out.last, last.split == s.split.rawValue, last.name == s.defectType {
                out[out.count - 1].count += 1
            } else {
                out.append(DatasetGroup(split: s.split.rawValue, name: s.defectType, count: 1))
            }
        }
        return out
    }

    var rows: [ImageRow] {
        samples.enumerated().map { id, s in
            let file = s.path.split(separator: "/").last.map(String.init) ?? s.path
            let label: ImageLabel = labels[id].map { $0 ? .defective : .normal } ?? .unknown
            return ImageRow(id: id, name: "\(s.split.rawValue)/\(s.defectType)/\(file)", label: label,
                            defectType: s.split == .test ? s.defectType : nil)
        }
    }

    /// What `e` exports: every test image, and any image flagged by hand in `rows` (a training image
    /// flagged by hand joins them), with the paths flagged by hand.
    func exportSelection(_ rows: [ImageRow]) -> (samples: [DatasetSample], manualFlags: Set<String>) {
        let manual = Set(rows.filter(\.manuallyFlagged).map(\.id))
        let ids = Array(samples.indices) + watched.map(\.id)
        let chosen = ids.compactMap { id in sample(id).flatMap { $0.split == .test || manual.contains(id) ? $0 : nil } }
        return (chosen, Set(manual.compactMap { sample($0)?.path }))
    }
}
