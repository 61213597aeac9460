import Numerics

/// How a backbone's BatchNorms are realised. A teacher is frozen: every BatchNorm is folded into
/// its convolution's bias at load time, so inference is conv + bias + activation. A student is
/// trained: bias-free convolutions, each followed by a BatchNorm with batch statistics. A trained
/// student used for inference is frozen the same way as a teacher, but keeps the student's
/// BatchNorm epsilon.
public enum Role: Sendable {
    case teacher
    case student
    case frozenStudent

    var trainable: Bool { self == .student }

    /// EfficientNet's pretrained BatchNorms use TensorFlow's epsilon; students use torch's default.
    func bnEps(teacher: Float) -> Float { self == .teacher ? teacher : 1e-5 }
}
