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
    /// Per level, each image's channels in turn (`count` x c x h x w values); raw buffers, so that the
    /// loss reads them in place (`batch`).
    private let levels: [UnsafeMutablePointer<Float16>]
    let count: Int

    init(teacher: FeatureExtractor, images: [Image8], batchSize: Int = 8) {
        count = images.count
        let input = Tensor(c: 0, n: 0, h: 0, w: 0)
        var shapes: [(c: Int, h: Int, w: Int)] = []
        var levels: [UnsafeMutablePointer<Float16>] = []
        let normalize = TapNormalizer()
        var start = 0
        while start < images.count {
            let chunk = Array(images[start..<min(start + batchSize, images.count)])
            ImagePreparation.fill(input, with: chunk, kind: teacher.kind)
            let taps = normalize(teacher.forward(input))
            if shapes.isEmpty {
                shapes = taps.map { ($0.c, $0.h, $0.w) }
                levels = taps.map { .allocate(capacity: images.count * $0.c * $0.plane) }
            }
            for l in 0..<3 {
                let t = taps[l]
                for n in 0..<t.n { for c in 0..<t.c {
                    let p = t.data + (c * t.n + n) * t.plane, to = levels[l] + ((start + n) * t.c + c) * t.plane
                    for i in 0..<t.plane { to[i] = Float16(p[i]) }
                } }
            }
            start += chunk.count
        }
        self.shapes = shapes
        self.levels = levels
    }

    deinit { levels.forEach { $0.deallocate() } }

    var bytes: Int { shapes.reduce(0) { $0 + count * $1.c * $1.h * $1.w * MemoryLayout<Float16>.size } }

    /// The features of `indices`, read in place by the loss.
    func batch(_ indices: [Int]) -> CachedTeacherBatch { CachedTeacherBatch(cache: self, indices: indices) }

    /// Channel `channel` of cached image `image` at level `l`.
    fileprivate func row(level l: Int, channel: Int, image: Int) -> UnsafePointer<Float16> {
        UnsafePointer(levels[l] + (image * shapes[l].c + channel) * shapes[l].h * shapes[l].w)
    }

    /// Copies the features of `indices` into channel-major batch tensors.
    func fill(_ batch: [Tensor], indices: [Int]) {
        for l in 0..<3 {
            let (c, h, w) = shapes[l], plane = h * w
            batch[l].resize(c: c, n: indices.count, h: h, w: w)
            for (n, image) in indices.enumerated() {
                for ch in 0..<c {
                    let from = row(level: l, channel: ch, image: image), to = batch[l].data + (ch * indices.count + n) * plane
                    for i in 0..<plane { to[i] = Float(from[i]) }
                }
            }
        }
    }
}

/// A batch of cached images' teacher features, read in place.
struct CachedTeacherBatch: TeacherFeatures {
    let cache: TeacherFeatureCache
    let indices: [Int]

    func shape(level l: Int) -> (c: Int, n: Int, h: Int, w: Int) {
        let s = cache.shapes[l]
        return (s.c, indices.count, s.h, s.w)
    }

    func row(level l: Int, channel: Int, image: Int) -> UnsafePointer<Float16> {
        cache.row(level: l, channel: channel, image: indices[image])
    }
}
