import Numerics

/// Channel-normalises the three teacher taps (the form the loss and the maps consume) into buffers
/// that are reused call after call, so scoring batch after batch allocates nothing.
public final class TapNormalizer {
    private let norms = [ChannelNormalize(), ChannelNormalize(), ChannelNormalize()]

    public init() {}

    /// The normalised taps stay valid until the next call.
    public func callAsFunction(_ taps: [Tensor]) -> [Tensor] {
        zip(norms, taps).map { $0.forward($1) }
    }
}
