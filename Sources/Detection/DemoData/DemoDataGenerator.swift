import FileOutput
import Numerics
import Foundation
import ImageIO

public struct DemoDataOptions: Sendable {
    /// Brick trains best of the three (image and pixel AUROC about 0.96-0.99 after 15 epochs at 128 px).
    public var texture = DemoTexture.brick
    public var seed: UInt64 = 0
    /// Side of the written images.
    public var imageSize = 128
    /// Side of the square cut from the photograph before it is resized to `imageSize`.
    public var cropSide = 192
    public var trainCount = 200
    public var goodTestCount = 30
    /// Test images per defect type.
    public var defectTestCount = 20
    /// Training crops come from this top fraction of the photograph's rows, test crops from the rest, so
    /// no test pixel was ever seen in training.
    public var trainFraction = 0.6

    public init() {}
}

/// Where a crop was cut from its photograph.
public struct CropRect: Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var side: Int

    public func intersects(_ other: CropRect) -> Bool {
        x < other.x + other.side && other.x < x + side && y < other.y + other.side && other.y < y + side
    }
}

public struct DemoImage: Sendable {
    /// RGB, `imageSize` square.
    public var image: Image8
    /// The same crop before a defect was drawn (equal to `image` for good images).
    public var clean: Image8
    /// 0/255 gray ground truth of a defective image; nil for good ones.
    public var mask: Image8?
    public var crop: CropRect
}

/// Cuts a small MVTec-layout dataset out of the demo photographs: tinted crops of one surface, good ones
/// for training and testing, and test crops carrying one synthetic `DemoDefect` each with its exact mask.
/// Every image depends only on the seed, its split, its defect type and its index.
public struct DemoDataGenerator {
    public let options: DemoDataOptions
    public let trainRows: Range<Int>
    public let testRows: Range<Int>
    private let photo: Image8
    private let foreignPhotos: [(texture: DemoTexture, photo: Image8)]

    /// `photos` are gray; the dataset's own texture and at least one other (the foreign surface) are needed.
    public init(photos: [DemoTexture: Image8], options: DemoDataOptions = DemoDataOptions()) throws {
        self.options = options
        guard let own = photos[options.texture] else { throw DemoDataError.textureMissing(options.texture.fileName) }
        photo = own.toGray()
        foreignPhotos = DemoTexture.allCases.filter { $0 != options.texture }.compactMap { t in photos[t].map { (t, $0.toGray()) } }
        guard !foreignPhotos.isEmpty else { throw DemoDataError.noForeignTexture }
        let split = Int((Double(photo.height) * options.trainFraction).rounded())
        trainRows = 0..<split
        testRows = split..<photo.height
        let side = options.cropSide
        guard photo.width >= side && trainRows.count >= side && testRows.count >= side else {
            throw DemoDataError.textureTooSmall("\(options.texture.fileName) (\(photo.width)x\(photo.height), crop \(side))")
        }
        for (texture, other) in foreignPhotos where other.width < side || other.height < side {
            throw DemoDataError.textureTooSmall("\(texture.fileName) (\(other.width)x\(other.height), crop \(side))")
        }
    }

    public func trainImage(_ index: Int) -> DemoImage {
        var rng = generator(stream: 1, index: index)
        let (image, crop) = cut(photo, texture: options.texture, rows: trainRows, &rng)
        return DemoImage(image: image, clean: image, mask: nil, crop: crop)
    }

    /// A test image: good when `defect` is nil.
    public func testImage(_ defect: DemoDefect?, _ index: Int) -> DemoImage {
        let stream = defect.map { 3 + UInt64(DemoDefect.allCases.firstIndex(of: $0)!) } ?? 2
        var rng = generator(stream: stream, index: index)
        let (clean, crop) = cut(photo, texture: options.texture, rows: testRows, &rng)
        guard let defect else { return DemoImage(image: clean, clean: clean, mask: nil, crop: crop) }
        let source = foreignPhotos[Int(rng.next() % UInt64(foreignPhotos.count))]
        let (foreign, _) = cut(source.photo, texture: source.texture, rows: 0..<source.photo.height, &rng)
        let (image, mask) = DefectSynthesis.apply(defect, to: clean, foreign: foreign, rng: &rng)
        return DemoImage(image: image, clean: clean, mask: mask, crop: crop)
    }

    /// Writes the dataset to `root`, which must not exist yet. It is assembled in a hidden sibling folder
    /// and renamed into place, so `root` either holds a whole dataset or is absent.
    public func write(to root: String) throws {
        let manager = FileManager.default
        let target = (root as NSString).standardizingPath
        guard !manager.fileExists(atPath: target) else { throw DemoDataError.outputExists(root) }
        let staging = parentFolder(of: target) + "/." + (target as NSString).lastPathComponent + ".\(getpid()).partial"
        try? manager.removeItem(atPath: staging)
        do {
            func save(_ image: Image8, _ relative: String) throws {
                let path = staging + "/" + relative
                try manager.createDirectory(atPath: parentFolder(of: path), withIntermediateDirectories: true)
                try PNGFile.write(image, path: path)
            }
            func name(_ i: Int) -> String { String(format: "%03d", i) }
            for i in 0..<options.trainCount { try save(trainImage(i).image, "train/good/\(name(i)).png") }
            for i in 0..<options.goodTestCount { try save(testImage(nil, i).image, "test/good/\(name(i)).png") }
            for defect in DemoDefect.allCases {
                for i in 0..<options.defectTestCount {
                    let sample = testImage(defect, i)
                    try save(sample.image, "test/\(defect.rawValue)/\(name(i)).png")
                    try save(sample.mask!, "ground_truth/\(defect.rawValue)/\(name(i))_mask.png")
                }
            }
            try writeAtomically(Data(provenance.utf8), to: staging + "/DEMO.txt")
            try manager.moveItem(atPath: staging, toPath: target)
        } catch {
            try? manager.removeItem(atPath: staging)
            throw error
        }
    }

    var provenance: String {
        let o = options
        let percent = Int((o.trainFraction * 100).rounded())
        return """
            stpm demo dataset: \(o.texture.rawValue), seed \(o.seed), \(o.imageSize)x\(o.imageSize) RGB
            made by: stpm demo-data --texture \(o.texture.rawValue) --seed \(o.seed) --size \(o.imageSize)
            photographs: scikit-image's sample textures (skimage/data/*.png, Creative Commons CC0 1.0), from scripts/fetch-textures
            train/good: \(o.trainCount) crops of \(o.cropSide) px from the top \(percent)% of \(o.texture.fileName)
            test: \(o.goodTestCount) good and \(o.defectTestCount) per defect type (\(DemoDefect.allCases.map(\.rawValue).joined(separator: ", "))), cut from the bottom \(100 - percent)%
            defects are synthetic; ground_truth masks mark every pixel they cover by at least one half

            """
    }

    /// Independent streams per split, defect type and image, so one image never depends on how many
    /// others were made before it.
    private func generator(stream: UInt64, index: Int) -> SplitMix64 {
        var mixer = SplitMix64(seed: options.seed ^ (stream &* 0xD6E8_FEB8_6659_FD93) ^ (UInt64(index) &* 0xA076_1D64_78BD_642F))
        return SplitMix64(seed: mixer.next())
    }

    /// A random square of `rows` (and any columns), turned or flipped where the surface allows it, resized
    /// and tinted.
    private func cut(_ source: Image8, texture: DemoTexture, rows: Range<Int>, _ rng: inout SplitMix64) -> (Image8, CropRect) {
        let side = options.cropSide
        let x = Int(rng.next() % UInt64(source.width - side + 1))
        let y = rows.lowerBound + Int(rng.next() % UInt64(rows.count - side + 1))
        let symmetry = texture.isotropic ? Int(rng.next() % 8) : 0
        var crop = Image8(width: side, height: side, channels: 1)
        for j in 0..<side {
            for i in 0..<side {
                // Bit 2 transposes, bits 0 and 1 mirror: the eight symmetries of the square.
                var (u, v) = symmetry & 4 != 0 ? (j, i) : (i, j)
                if symmetry & 1 != 0 { u = side - 1 - u }
                if symmetry & 2 != 0 { v = side - 1 - v }
                crop.pixels[j * side + i] = source.pixels[(y + v) * source.width + x + u]
            }
        }
        let resized = side == options.imageSize ? crop : crop.resizedBilinear(width: options.imageSize, height: options.imageSize)
        let tint = texture.tint
        var rgb = Image8(width: options.imageSize, height: options.imageSize, channels: 3)
        for (i, v) in resized.pixels.enumerated() {
            let g = Float(v)
            rgb.pixels[3 * i] = UInt8((g * tint.r).rounded())
            rgb.pixels[3 * i + 1] = UInt8((g * tint.g).rounded())
            rgb.pixels[3 * i + 2] = UInt8((g * tint.b).rounded())
        }
        return (rgb, CropRect(x: x, y: y, side: side))
    }
}
