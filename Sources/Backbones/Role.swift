import Numerics

/// A teacher is frozen: every BatchNorm is folded into its convolution's bias at load time, so
/// inference is conv + bias + activation. A student is trained: bias-free convolutions, each followed
/// by a BatchNorm with batch statistics.
public enum Role: Sendable {
    case teacher
    case student
}
