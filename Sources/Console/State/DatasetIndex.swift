import Detection

/// The dataset as the console lists it: every train and test image gets a row id, which
/// is its index into `samples`; the scorer, the inspector and export look samples up by it.
struct DatasetIndex {
    private(set) var samples: [DatasetSample]
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

    /// A watched image joins with the next row id, as `ConsoleState.watched` lists it.
    mutating func append(watched path: String) {
        samples.append(DatasetSample(path: path, split: .test, defectType: "live", maskPath: nil))
        labels.append(nil)
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
            return ImageRow(id: id, name: "\(s.split.rawValue)/\(s.defectType)/\(file)", label: label)
        }
    }

    /// What `e` exports: every test image, and any image flagged by hand in `rows` (a training image
    /// flagged by hand joins them), with the paths flagged by hand.
    func exportSelection(_ rows: [ImageRow]) -> (samples: [DatasetSample], manualFlags: Set<String>) {
        let manual = Set(rows.filter(\.manuallyFlagged).map(\.id))
        let chosen = samples.indices.filter { samples[$0].split == .test || manual.contains($0) }.map { samples[$0] }
        return (chosen, Set(manual.map { samples[$0].path }))
    }
}
