import ArgumentParser
import Foundation
import Backbones
import Detection
import Numerics

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write a teacher's three pyramid taps for some images (F32 NCHW safetensors: tap1, tap2, tap3).",
        discussion: "Images are resized bilinearly (as Pillow) to size x size, gray expanded to RGB and normalised the backbone's way; the teacher runs in eval mode. Use it to compare stpm's backbones with another implementation.")

    @Option(help: "Backbone.") var backbone: BackboneKind
    @Option(help: "Teacher weights (safetensors); default: the fetched file for the backbone.") var teacherWeights: String?
    @Option(help: "Input size (square).") var size = 256
    @Option(help: "Output safetensors file.") var out: String
    @Argument(help: "Images (PNG, JPEG, TIFF or BMP).") var images: [String]

    func validate() throws {
        if let problem = ModelLimits.sizeProblem(size) { throw ValidationError("--size \(problem)") }
    }

    func run() throws {
        let kind = backbone
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
        let teacher = try TeacherWeights.loadTeacher(kind, override: teacherWeights)
        let input = Tensor(c: 0, n: 0, h: 0, w: 0)
        ImagePreparation.fill(input, with: try images.map { try ImagePreparation.load($0, size: size) }, kind: kind)
        let taps = teacher.forward(input)
        let tensors = taps.enumerated().map { (l, t) in
            NamedTensor(name: "tap\(l + 1)", shape: [t.n, t.c, t.h, t.w], values: t.toNCHW())
        }
        try SafetensorsFile.write(tensors, metadata: ["backbone": kind.rawValue, "size": String(size),
                                                      "images": images.joined(separator: ",")], to: out)
        for t in tensors { print("\(t.name) \(t.shape)") }
        print("wrote \(out)")
    }
}
