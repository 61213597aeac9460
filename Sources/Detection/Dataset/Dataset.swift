import Foundation
import ImageIO

public enum DatasetSplit: String, Codable, Sendable {
    case train, test
}

public struct DatasetSample: Equatable, Sendable {
    public var path: String
    public var split: DatasetSplit
    /// "good" or the name of the defect folder.
    public var defectType: String
    /// Ground-truth mask of a defective test image; nil for good images and for defective ones whose mask is missing.
    public var maskPath: String?

    public init(path: String, split: DatasetSplit, defectType: String, maskPath: String?) {
        self.path = path
        self.split = split
        self.defectType = defectType
        self.maskPath = maskPath
    }
}

public enum DatasetError: Error, Equatable, CustomStringConvertible {
    case rootMissing(String)
    case noTrainGood(String)
    case noTrainImages(String)
    case pathMissing(String)
    case noImages([String])

    public var description: String {
        switch self {
        case .rootMissing(let root): return "dataset folder \(root) does not exist or is not a folder"
        case .noTrainGood(let root): return "\(root) has no train/good folder (expected the MVTec AD layout: train/good, test/<type>, ground_truth/<type>; or a plain folder of normal images, without test/ and ground_truth/)"
        case .noTrainImages(let folder): return "no images (\(imageExtensionList)) in \(folder)"
        case .pathMissing(let path): return "\(path) does not exist"
        case .noImages(let paths): return "no images (\(imageExtensionList)) in \(paths.joined(separator: ", "))"
        }
    }
}

/// A dataset in the MVTec AD layout: root/train/good/*.png, root/test/<type>/*.png and
/// root/ground_truth/<type>/<stem>_mask.png (good test images have no mask). Images and masks may be any
/// format ImageReader reads (listed by extension, decoded by content); a mask matches an image by stem; or a plain folder
/// whose images are all normal (training only); or anomalib's folder spec of labelled test images
/// (`init(normal:abnormal:masks:)`).
public struct MVTecDataset: Sendable {
    public var root: String
    public var train: [DatasetSample]
    public var test: [DatasetSample]
    /// Inconsistencies that do not stop training, such as a defective test image without a mask or a mask
    /// without an image; reported so they are not silently dropped from the evaluation.
    public var problems: [String]

    /// The test folders ("good" and the defect types), sorted.
    public var types: [String] { Array(Set(test.map { Array($0.defectType.utf8) })).map { String(decoding: $0, as: UTF8.self) }.sorted(by: byteOrder) }

    /// Scans `root`; samples are sorted by folder then file name so every run sees the same order.
    public init(root: String) throws {
        guard isDirectory(root) else { throw DatasetError.rootMissing(root) }
        self.root = root
        problems = []

        let trainGood = joined(root, "train", "good")
        guard isDirectory(trainGood) else {
            // A folder with MVTec's other parts but no train/good is a broken MVTec layout, not a plain
            // folder: training on its test images would learn the defects.
            let mvtecParts = ["train", "test", "ground_truth"].filter { isDirectory(joined(root, $0)) }
            guard mvtecParts.isEmpty, let images = try? scanImageFolder(paths: [root]) else { throw DatasetError.noTrainGood(root) }
            train = images.map { DatasetSample(path: $0, split: .train, defectType: "good", maskPath: nil) }
            test = []
            return
        }
        train = try imageFiles(in: trainGood).map {
            DatasetSample(path: joined(trainGood, $0), split: .train, defectType: "good", maskPath: nil)
        }
        guard !train.isEmpty else { throw DatasetError.noTrainImages(trainGood) }

        test = []
        let testRoot = joined(root, "test")
        let truthRoot = joined(root, "ground_truth")
        guard isDirectory(testRoot) else {
            problems.append("no test folder in \(root): nothing to evaluate on")
            return
        }
        let testTypes = try subdirectories(of: testRoot)
        var withoutMask = 0
        for type in testTypes {
            let folder = joined(testRoot, type)
            let images = try imageFiles(in: folder)
            if images.isEmpty { problems.append("test/\(type) has no images") }
            guard type != "good" else {
                test += images.map { DatasetSample(path: joined(folder, $0), split: .test, defectType: type, maskPath: nil) }
                continue
            }
            let truthFolder = joined(truthRoot, type)
            var masksByStem: [[UInt8]: String] = [:]
            if isDirectory(truthFolder) {
                for mask in try imageFiles(in: truthFolder) {
                    let stem = imageStem(mask)
                    if stem.hasSuffix("_mask") { masksByStem[Array(stem.dropLast("_mask".count).utf8)] = mask }
                }
            }
            for image in images {
                let stem = imageStem(image)
                var maskPath: String?
                if let mask = masksByStem.removeValue(forKey: Array(stem.utf8)) {
                    maskPath = joined(truthFolder, mask)
                } else {
                    withoutMask += 1
                }
                test.append(DatasetSample(path: joined(folder, image), split: .test, defectType: type, maskPath: maskPath))
            }
            for mask in masksByStem.values.sorted(by: byteOrder) {
                problems.append("ground_truth/\(type)/\(mask) has no test image")
            }
        }
        if isDirectory(truthRoot) {
            for type in try subdirectories(of: truthRoot) where !testTypes.contains(where: { $0.utf8.elementsEqual(type.utf8) }) {
                problems.append("ground_truth/\(type) has no matching test/\(type) folder")
            }
        }
        if let note = MVTecDataset.maskNote(withoutMask: withoutMask, defective: test.filter { $0.defectType != "good" }.count) {
            problems.insert(note, at: 0)
        }
    }

    /// anomalib's folder layout: every image under `normal` is a good test image, every image under
    /// `abnormal` a defective one, its type the subfolder it is in (or the abnormal folder's own name);
    /// masks are found under `masks` by the image's file stem ("<stem>" or "<stem>_mask", any folder).
    public init(normal: String, abnormal: String, masks: String?) throws {
        for folder in [normal, abnormal] + (masks.map { [$0] } ?? []) where !isDirectory(folder) {
            throw DatasetError.rootMissing(folder)
        }
        root = normal
        train = []
        problems = []
        var masksByStem: [String: String] = [:]
        if let masks {
            for mask in (try? scanImageFolder(paths: [masks])) ?? [] {
                var stem = imageStem((mask as NSString).lastPathComponent)
                if stem.hasSuffix("_mask") { stem.removeLast("_mask".count) }
                if let other = masksByStem[stem] {
                    problems.append("masks \(other) and \(mask) both match images named \(stem): the first is used")
                } else {
                    masksByStem[stem] = mask
                }
            }
        }
        let folderType = (abnormal as NSString).lastPathComponent
        test = try scanImageFolder(paths: [normal]).map { DatasetSample(path: $0, split: .test, defectType: "good", maskPath: nil) }
        var withoutMask = 0
        for path in try scanImageFolder(paths: [abnormal]) {
            let below = path.dropFirst(abnormal.count).split(separator: "/")
            let type = below.count > 1 ? String(below[0]) : folderType == "good" ? "abnormal" : folderType
            let mask = masksByStem.removeValue(forKey: imageStem((path as NSString).lastPathComponent))
            if mask == nil { withoutMask += 1 }
            test.append(DatasetSample(path: path, split: .test, defectType: type, maskPath: mask))
        }
        if !masksByStem.isEmpty {
            problems.append("\(masksByStem.count) masks match no abnormal image (by file stem), e.g. \(masksByStem.values.min()!)")
        }
        if let note = MVTecDataset.maskNote(withoutMask: withoutMask, defective: test.filter { $0.defectType != "good" }.count) {
            problems.insert(note, at: 0)
        }
    }

    /// One line for defective images without a mask, however many: having none is normal for a line's
    /// own labelled folders.
    static func maskNote(withoutMask: Int, defective: Int) -> String? {
        guard withoutMask > 0 else { return nil }
        return withoutMask == defective
            ? "\(withoutMask) defective images have no mask: pixel metrics skipped"
            : "\(withoutMask) of \(defective) defective images have no mask: they count in image AUROC only, not in the pixel metrics"
    }
}


/// The images to score: explicit files (of any name: the reader decides by content) and every file with an
/// image extension under the given folders, recursively; hidden files are skipped. Sorted, without duplicates.
public func scanImageFolder(paths: [String]) throws -> [String] {
    // Keyed by bytes: Swift's String equality is canonical equivalence, under which two different files
    // (café.png in NFC and in NFD) would be one.
    var found: [[UInt8]: String] = [:]
    for path in paths {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw DatasetError.pathMissing(path) }
        guard isFolder.boolValue else {
            found[Array(path.utf8)] = path
            continue
        }
        guard let walker = FileManager.default.enumerator(atPath: path) else { throw DatasetError.pathMissing(path) }
        // Relative subpaths joined to the folder as given keep the results in the form the user typed.
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if name.hasPrefix(".") {
                walker.skipDescendants()
                continue
            }
            let file = joined(path, relative)
            if ImageReader.hasImageExtension(name) && !isDirectory(file) { found[Array(file.utf8)] = file }
        }
    }
    guard !found.isEmpty else { throw DatasetError.noImages(paths) }
    return found.values.sorted(by: byteOrder)
}

/// Paths in the order of their bytes (what `ls` in the C locale shows), never merging two distinct names.
public func byteOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

private let imageExtensionList = ImageReader.fileExtensions.sorted().map { "." + $0 }.joined(separator: " ")

/// The name without its image extension ("000_mask.png" -> "000_mask").
func imageStem(_ name: String) -> String {
    guard ImageReader.hasImageExtension(name), let dot = name.lastIndex(of: ".") else { return name }
    return String(name[..<dot])
}

private func isDirectory(_ path: String) -> Bool {
    var isFolder: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
}

private func joined(_ parts: String...) -> String {
    parts.dropFirst().reduce(parts[0]) { $0.hasSuffix("/") ? $0 + $1 : $0 + "/" + $1 }
}

/// Visible regular files with an image extension directly in `folder`, sorted by name.
private func imageFiles(in folder: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder)
        .filter { !$0.hasPrefix(".") && ImageReader.hasImageExtension($0) && !isDirectory(joined(folder, $0)) }
        .sorted(by: byteOrder)
}

private func subdirectories(of folder: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder)
        .filter { !$0.hasPrefix(".") && isDirectory(joined(folder, $0)) }
        .sorted(by: byteOrder)
}
