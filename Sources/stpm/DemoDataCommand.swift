import ArgumentParser
import Foundation
import Detection

struct DemoDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-data",
        abstract: "Write a small MVTec-layout demo dataset cut from real photographs, with synthetic defects.",
        discussion: """
            The photographs are scikit-image's CC0 sample textures; run scripts/fetch-textures once to fetch them.
            Training crops and test crops come from disjoint parts of the photograph. The test defects \
            (\(DemoDefect.allCases.map(\.rawValue).joined(separator: ", "))) are drawn with their exact masks. \
            The same seed gives the same files.
            """)

    @Option(help: "Dataset folder to create (must not exist).") var out: String
    @Option var seed: UInt64 = 0
    @Option(help: "Surface.") var texture = DemoTexture.brick
    @Option(help: "Image side in pixels.") var size = 128
    @Option(help: "Training images.") var trainCount = 200
    @Option(help: "Good test images.") var goodCount = 30
    @Option(help: "Test images per defect type.") var defectCount = 20
    @Option(help: "Folder of the photographs; default: the one scripts/fetch-textures fills.") var textures: String?

    func validate() throws {
        guard size >= 32 else { throw ValidationError("--size must be at least 32") }
        guard trainCount > 0, goodCount > 0, defectCount > 0 else { throw ValidationError("image counts must be positive") }
    }

    func run() throws {
        var options = DemoDataOptions()
        options.texture = texture
        options.seed = seed
        options.imageSize = size
        options.trainCount = trainCount
        options.goodTestCount = goodCount
        options.defectTestCount = defectCount
        let photos = try DemoPhotos.load(directory: textures ?? DemoTexture.defaultDirectory)
        let started = Date()
        try DemoDataGenerator(photos: photos, options: options).write(to: out)
        let total = trainCount + goodCount + defectCount * DemoDefect.allCases.count
        print(String(format: "wrote %@: %d images (%d train/good, %d test/good, %d per defect type) in %.1f s",
                     out, total, trainCount, goodCount, defectCount, Date().timeIntervalSince(started)))
    }
}
