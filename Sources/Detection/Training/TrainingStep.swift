import Numerics
import Backbones

/// One SGD step of the student against channel-normalised teacher features, in llm.c's order:
/// forward (student and loss), backward (student, from the loss's gradients), update (SGD).
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

    /// forward (student, loss), backward (student, each tap's loss gradient asked for as the pass reaches
    /// it), update (SGD); returns the level losses.
    func callAsFunction<T: TeacherFeatures>(input: Tensor, teacher: T) -> [Double] {
        let taps = student.forward(input)
        let levels = loss.forward(teacher: teacher, student: taps)
        student.backward { t, g, adding in loss.gradient(level: t, teacher: teacher, student: taps[t], into: g, adding: adding) }
        sgd.step(parameters)
        return levels
    }
}
