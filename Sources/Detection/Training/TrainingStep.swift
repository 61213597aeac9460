import Numerics
import Backbones

/// One SGD step of the student against channel-normalised teacher features, in llm.c's order:
/// `forward` (student and loss), `backward` (student, from the loss's gradients), `update` (SGD).
/// The training session runs it on cached teacher features; `stpm bench` times it.
final class TrainingStep {
    let student: FeatureExtractor
    private let loss = PyramidLoss()
    private let sgd: SGD
    /// Listed once: the step runs thousands of times.
    private let parameters: [Parameter]

    init(student: FeatureExtractor, sgd: SGD) {
        self.student = student
        self.sgd = sgd
        parameters = student.parameters
    }

    convenience init(student: FeatureExtractor, options: TrainingOptions) {
        self.init(student: student, sgd: SGD(learningRate: options.learningRate, momentum: options.momentum,
                                             weightDecay: options.weightDecay))
    }

    /// The loss per pyramid level. PyramidLoss leaves its gradients with its value, for `backward`.
    func forward<T: TeacherFeatures>(input: Tensor, teacher: T) -> [Double] {
        loss.forwardBackward(teacher: teacher, student: student.forward(input))
    }

    func backward() { student.backward(tapGrads: loss.studentGrads) }

    func update() { sgd.step(parameters) }

    /// forward, backward, update; returns the level losses.
    func callAsFunction<T: TeacherFeatures>(input: Tensor, teacher: T) -> [Double] {
        let levels = forward(input: input, teacher: teacher)
        backward()
        update()
        return levels
    }
}
