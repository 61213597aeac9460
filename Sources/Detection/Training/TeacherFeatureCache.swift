import Numerics
import Backbones
import ImageIO

/// Channel-normalised teacher features of every training image, computed once: without augmentation
/// the frozen teacher sees the same images every epoch, so each epoch only runs the student.
///
/// Stored as Float16, half the memory of Float (877 MB for tire's 239 images on resnet50-1by2): each
/// value is a component of a unit vector, where Float16's relative rounding (at most 2^-11) is far below
/// what the student's fit resolves; the loss reads them back as Float.
final class TeacherFeatureCache {
    let shapes: [(c: Int, h: Int, w: Int)]
    private var levels: [[Float16]]
    let count: Int

    init(teacher: FeatureExtractor, images: [Image8], batchSize: Int = 8) {
        count = images.count
        let input = Tensor(c: 0, n: 0, h: 0, w: 0)
        var shapes: [(c: Int, h: Int, w: Int)] = []
        var levels: [[Float16]] = [[], [], []]
        let normalize = TapNormalizer()
        var start = 0
        while start < images.count {
            let chunk = Array(images[start..<min(start + batchSize, images.count)])
            ImagePreparation.fill(input, with: chunk, kind: teacher.kind)
            let taps = normalize(teacher.forward(input))
            if shapes.isEmpty {
                shapes = taps.map { ($0.c, $0.h, $0.w) }
                for l in 0..<3 { levels[l].reserveCapacity(images.count * taps[l].c * taps[l].plane) }
            }
            for l in 0..<3 {
                let t = taps[l]
                for n in 0..<t.n { for c in 0..<t.c {
                    let p = t.data + (c * t.n + n) * t.plane
                    levels[l].append(contentsOf: UnsafeBufferPointer(start: p, count: t.plane).lazy.map { Float16($0) })
                } }
            }
            start += chunk.count
        }
        self.shapes = shapes
        self.levels = levels
    }

    var bytes: Int { levels.reduce(0) { $0 + $1.count * MemoryLayout<Float16>.size } }

    /// Copies the features of `indices` into channel-major batch tensors.
    func fill(_ batch: [Tensor], indices: [Int]) {
        for l in 0..<3 {
            let (c, h, w) = shapes[l], plane = h * w
            batch[l].resize(c: c, n: indices.count, h: h, w: w)
            levels[l].withUnsafeBufferPointer { src in
                for (n, image) in indices.enumerated() {
                    for ch in 0..<c {
                        let from = src.baseAddress! + (image * c + ch) * plane, to = batch[l].data + (ch * indices.count + n) * plane
                        for i in 0..<plane { to[i] = Float(from[i]) }
                    }
                }
            }
        }
    }
}
