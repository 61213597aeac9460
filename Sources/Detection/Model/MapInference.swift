import Numerics
import Backbones

/// Anomaly maps of a batch: what scoring runs and the benchmark measures.
///
/// The ResNets' stems, which read the same image, run first as one convolution on all threads (`StemPair`).
/// Then teacher and student run side by side, each network on its share of the threads, so both cores
/// stay busy on whole layers without the splitting, waking and idle tails of per-layer parallel
/// loops. Images go through one at a time: a single image's activations stay in the caches, where a
/// batch's expanded tensors (tens of MB per layer) would stream through memory.
final class MapInference {
    let teacher: FeatureExtractor
    let student: FeatureExtractor
    /// The ResNets' two stems as one, on both threads, before the networks split.
    private let stems: StemPair?
    private let mapper: AnomalyMapper
    private let image = Tensor(c: 0, n: 0, h: 0, w: 0)
    private var scores: [Float] = []

    init(teacher: FeatureExtractor, student: FeatureExtractor, size: Int) {
        self.teacher = teacher
        self.student = student
        stems = StemPair(teacher, student)
        mapper = AnomalyMapper(height: size, width: size)
    }

    /// The maps (size x size each, row-major) and scores (map maxima) of a prepared batch.
    func callAsFunction(_ input: Tensor) -> (maps: [[Float]], scores: [Float]) {
        let inPlane = input.plane
        var maps: [[Float]] = []
        scores.removeAll(keepingCapacity: true)
        if input.n > 1 { image.resize(c: input.c, n: 1, h: input.h, w: input.w) }
        for i in 0..<input.n {
            // A batch of one is the image itself (scoring passes them so); a larger one's image i is copied out.
            let x = input.n == 1 ? input : image
            if input.n > 1 {
                for c in 0..<input.c {
                    (image.data + c * inPlane).update(from: input.data + (c * input.n + i) * inPlane, count: inPlane)
                }
            }
            var t: [Tensor] = [], s: [Tensor] = []
            let stemDone = stems?.forward(x) ?? false
            concurrently({ t = self.teacher.forward(x, stemDone: stemDone) }, { s = self.student.forward(x, stemDone: stemDone) })
            // The teacher's taps are normalised by the map, on both threads.
            maps.append(mapper.compute(teacher: t, student: s, rawTeacher: true).maps)
            scores += mapper.scores()
        }
        return (maps, scores)
    }
}
