import Foundation
import XCTest
import Numerics
import ImageIO
import Backbones
@testable import Detection
import TestSupport

/// The generator on made-up photographs, so these run without fetching anything; `DemoDataPhotoTests`
/// covers the real ones.
final class DemoDataTests: XCTestCase {
    var temporary: TemporaryDirectory!
    var root: String { temporary.path }

    override func setUpWithError() throws { temporary = try TemporaryDirectory("stpm-demo") }

    override func tearDown() { temporary = nil }

    /// Three distinct gray surfaces with structure at several scales, standing in for the photographs.
    static let photos: [DemoTexture: Image8] = {
        var photos: [DemoTexture: Image8] = [:]
        for (k, texture) in DemoTexture.allCases.enumerated() {
            var rng = SplitMix64(seed: UInt64(k + 1))
            let side = 256
            var photo = Image8(width: side, height: side, channels: 1)
            for y in 0..<side {
                for x in 0..<side {
                    let waves = 50 * sin(Float(x) * (0.21 + 0.05 * Float(k))) * cos(Float(y) * 0.17 + Float(k))
                    photo.pixels[y * side + x] = UInt8(max(0, min(255, 120 + waves + 40 * rng.nextUnit())))
                }
            }
            photos[texture] = photo
        }
        return photos
    }()

    static func smallOptions(seed: UInt64 = 7, texture: DemoTexture = .gravel) -> DemoDataOptions {
        var options = DemoDataOptions()
        options.texture = texture
        options.seed = seed
        options.imageSize = 64
        options.cropSide = 96
        options.trainCount = 6
        options.goodTestCount = 3
        options.defectTestCount = 3
        return options
    }

    func files(under folder: String) throws -> [String: Data] {
        var found: [String: Data] = [:]
        let walker = FileManager.default.enumerator(atPath: folder)!
        while let relative = walker.nextObject() as? String {
            guard walker.fileAttributes?[.type] as? FileAttributeType == .typeRegular else { continue }
            found[relative] = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + relative))
        }
        return found
    }

    func testSameSeedWritesIdenticalFilesAndAnotherSeedDifferent() throws {
        for (name, seed) in [("a", 7), ("b", 7), ("c", 8)] {
            try DemoDataGenerator(photos: Self.photos, options: Self.smallOptions(seed: UInt64(seed))).write(to: root + "/" + name)
        }
        let a = try files(under: root + "/a"), b = try files(under: root + "/b"), c = try files(under: root + "/c")
        XCTAssertEqual(a.count, 6 + 3 + 4 * 3 * 2 + 1, "images, masks and DEMO.txt")
        XCTAssertEqual(a, b)
        XCTAssertEqual(Set(a.keys), Set(c.keys))
        let images = a.keys.filter { $0.hasSuffix(".png") }
        XCTAssertTrue(images.allSatisfy { a[$0] != c[$0] }, "every image changes with the seed")
    }

    func testWritesAnMVTecDatasetWithAMaskPerDefectiveImage() throws {
        let out = root + "/demo"
        try DemoDataGenerator(photos: Self.photos, options: Self.smallOptions()).write(to: out)
        let dataset = try MVTecDataset(root: out)
        XCTAssertEqual(dataset.problems, [])
        XCTAssertEqual(dataset.train.count, 6)
        XCTAssertEqual(dataset.types, ["foreign", "good", "hole", "scratch", "stain"])
        XCTAssertEqual(dataset.test.count, 3 + 4 * 3)
        for sample in dataset.test {
            let image = try ImageReader.read(path: sample.path, as: .rgb)
            XCTAssertEqual([image.width, image.height], [64, 64])
            if sample.defectType == "good" {
                XCTAssertNil(sample.maskPath)
            } else {
                let mask = try ImageReader.read(path: XCTUnwrap(sample.maskPath), as: .gray)
                XCTAssertTrue(mask.pixels.allSatisfy { $0 == 0 || $0 == 255 }, "binary mask \(sample.path)")
                XCTAssertTrue(mask.pixels.contains(255), "empty mask for \(sample.path)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/ground_truth/good"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), ["demo"], "no staging folder left")
    }

    func testRefusesAnExistingOutputFolder() throws {
        let out = root + "/taken"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let generator = try DemoDataGenerator(photos: Self.photos, options: Self.smallOptions())
        XCTAssertThrowsError(try generator.write(to: out)) { XCTAssertEqual($0 as? DemoDataError, .outputExists(out)) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
    }

    /// The ground truth must be exact: every pixel the defect changed is on the mask or on its one-pixel
    /// anti-aliased rim (2 px allowed here), and the mask is where the image did change.
    func testMasksMatchTheChangedPixels() throws {
        var options = Self.smallOptions()
        options.imageSize = 128
        options.cropSide = 128
        options.trainFraction = 0.5
        let generator = try DemoDataGenerator(photos: Self.photos, options: options)
        let epsilon = 2
        for defect in DemoDefect.allCases {
            var masked = 0, maskedChanged = 0
            for index in 0..<8 {
                let sample = generator.testImage(defect, index)
                let mask = try XCTUnwrap(sample.mask)
                let w = mask.width, h = mask.height
                var changed = [Bool](repeating: false, count: w * h)
                for i in 0..<w * h {
                    changed[i] = (0..<3).contains { abs(Int(sample.image.pixels[3 * i + $0]) - Int(sample.clean.pixels[3 * i + $0])) > epsilon }
                }
                XCTAssertTrue(mask.pixels.contains(255), "\(defect) \(index): empty mask")
                for y in 0..<h {
                    for x in 0..<w where changed[y * w + x] {
                        let near = (max(0, y - 2)...min(h - 1, y + 2)).contains { ny in
                            (max(0, x - 2)...min(w - 1, x + 2)).contains { mask.pixels[ny * w + $0] != 0 }
                        }
                        XCTAssertTrue(near, "\(defect) \(index): pixel (\(x), \(y)) changed far from the mask")
                    }
                }
                for i in 0..<w * h where mask.pixels[i] != 0 {
                    masked += 1
                    if changed[i] { maskedChanged += 1 }
                }
            }
            // A few mask pixels may keep their colour by coincidence (a foreign pixel equal to the surface's).
            XCTAssertGreaterThan(Double(maskedChanged) / Double(masked), 0.95, "\(defect): mask pixels that did not change")
        }
        for index in 0..<3 {
            let good = generator.testImage(nil, index)
            XCTAssertNil(good.mask)
            XCTAssertEqual(good.image, good.clean)
        }
    }

    func testTrainAndTestCropsComeFromDisjointRows() throws {
        var options = Self.smallOptions()
        options.trainCount = 60
        let generator = try DemoDataGenerator(photos: Self.photos, options: options)
        XCTAssertEqual(generator.trainRows, 0..<154)
        XCTAssertEqual(generator.testRows, 154..<256)
        let train = (0..<options.trainCount).map { generator.trainImage($0).crop }
        let test = (0..<20).map { generator.testImage(nil, $0).crop }
            + DemoDefect.allCases.flatMap { d in (0..<10).map { generator.testImage(d, $0).crop } }
        for crop in train {
            XCTAssertTrue(generator.trainRows.contains(crop.y) && crop.y + crop.side <= generator.trainRows.upperBound, "\(crop)")
        }
        for crop in test {
            XCTAssertTrue(generator.testRows.contains(crop.y) && crop.y + crop.side <= generator.testRows.upperBound, "\(crop)")
            XCTAssertFalse(train.contains { $0.intersects(crop) }, "\(crop) overlaps a training crop")
        }
        XCTAssertGreaterThan(Set(train.map { [$0.x, $0.y] }).count, 50, "crops spread over the region")
    }

    func testTexturesHaveTheirOwnTints() throws {
        let generator = try DemoDataGenerator(photos: Self.photos, options: Self.smallOptions(texture: .grass))
        let image = generator.trainImage(0).image
        var sums = [0, 0, 0]
        for i in 0..<image.width * image.height { for c in 0..<3 { sums[c] += Int(image.pixels[3 * i + c]) } }
        XCTAssertGreaterThan(sums[1], sums[0], "grass is greener than it is red")
        XCTAssertGreaterThan(sums[0], sums[2])
    }

    func testNeedsASecondPhotographForForeignPatches() {
        let only = [DemoTexture.gravel: Self.photos[.gravel]!]
        XCTAssertThrowsError(try DemoDataGenerator(photos: only, options: Self.smallOptions())) {
            XCTAssertEqual($0 as? DemoDataError, .noForeignTexture)
        }
    }

    func testPhotographsAreCheckedAgainstTheirPins() throws {
        XCTAssertThrowsError(try DemoPhotos.load(directory: root)) { error in
            XCTAssertEqual(error as? DemoDataError, .textureMissing(root + "/brick.png"))
            XCTAssertTrue("\(error)".contains("scripts/fetch-textures"))
        }
        for texture in DemoTexture.allCases {
            try PNGFile.write(Self.photos[texture]!, path: root + "/" + texture.fileName)
        }
        XCTAssertThrowsError(try DemoPhotos.load(directory: root)) { error in
            guard case .textureChanged(let path, _)? = error as? DemoDataError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, root + "/brick.png")
        }
    }
}

/// The real photographs, as `scripts/fetch-textures` leaves them in `$STPM_HOME/textures`.
final class DemoDataPhotoTests: XCTestCase {
    func testRealPhotographsMakeADataset() throws {
        let photos: [DemoTexture: Image8]
        do {
            photos = try DemoPhotos.load()
        } catch let error as DemoDataError {
            return XCTFail("\(error) (the demo photographs are needed here; scripts/fetch-textures fetches them)")
        }
        for (texture, photo) in photos {
            XCTAssertEqual([photo.width, photo.height, photo.channels], [512, 512, 1], "\(texture)")
        }
        let temporary = try TemporaryDirectory("stpm-demo-photos")
        let root = temporary.path + "/demo"
        var options = DemoDataOptions()
        options.trainCount = 4
        options.goodTestCount = 2
        options.defectTestCount = 2
        let generator = try DemoDataGenerator(photos: photos, options: options)
        XCTAssertEqual(generator.trainRows, 0..<307)
        try generator.write(to: root)
        let dataset = try MVTecDataset(root: root)
        XCTAssertEqual(dataset.problems, [])
        XCTAssertEqual(dataset.train.count, 4)
        XCTAssertEqual(dataset.test.count, 2 + 4 * 2)
        let first = try ImageReader.read(path: dataset.train[0].path, as: .rgb)
        XCTAssertEqual([first.width, first.height], [128, 128])
        // A crop of the photograph has the spread of a real surface, not a flat or clipped image.
        let gray = first.toGray().pixels.map(Int.init)
        let mean = gray.reduce(0, +) / gray.count
        let spread = (gray.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / gray.count)
        XCTAssertGreaterThan(spread, 400)
        XCTAssertTrue((40...200).contains(mean))
    }
}
