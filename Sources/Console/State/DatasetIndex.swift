import Detection

/// The dataset as the console lists it: every train and test image gets a row id, which
/// is its index into `samples`; the scorer, the inspector and export look samples up by it.
struct DatasetIndex {
    let samples: [DatasetSample]

    init(_ dataset: MVTecDataset) {
        samples = dataset.train + dataset.test
    }

    init() { samples = [] }

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

    /// Test images are labelled by their folder; train images are unlabelled for the
    /// statistics, because scores of images the student was fitted on say little.
    var rows: [ImageRow] {
        samples.enumerated().map { id, s in
            let file = s.path.split(separator: "/").last.map(String.init) ?? s.path
            let label: ImageLabel = s.split == .train ? .unknown : (s.defectType == "good" ? .normal : .defective)
            return ImageRow(id: id, name: "\(s.split.rawValue)/\(s.defectType)/\(file)", label: label)
        }
    }
}
