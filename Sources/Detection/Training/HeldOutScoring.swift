import Numerics
import Backbones
import ImageIO

/// Normal images scored by the student in training, switched to eval mode for the pass: the
/// mean of their anomaly maps (lower is better: it chooses the best epoch) and each image's
/// score (the normal scores that percentile thresholds read).
enum HeldOutScoring {
    static func score(student: FeatureExtractor, images: [Image8], cache: TeacherFeatureCache,
                      kind: BackboneKind, size: Int) -> (mean: Double, scores: [Float]) {
        student.setTraining(false)
        defer { student.setTraining(true) }
        let mapper = AnomalyMapper(height: size, width: size)
        let input = Tensor(c: 0, n: 0, h: 0, w: 0)
        let teacherBatch = [Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0)]
        var total = 0.0
        var scores: [Float] = []
        for start in stride(from: 0, to: images.count, by: 8) {
            let idx = Array(start..<min(start + 8, images.count))
            ImagePreparation.fill(input, with: idx.map { images[$0] }, kind: kind)
            cache.fill(teacherBatch, indices: idx)
            let (maps, _) = mapper.compute(teacher: teacherBatch, student: student.forward(input))
            total += maps.reduce(0.0) { $0 + Double($1) }
            scores += mapper.scores()
        }
        return (total / Double(images.count * size * size), scores)
    }
}
