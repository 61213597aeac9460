import Numerics

/// A teacher's and a student's ResNet stems, which read the same image at inference, run as one convolution of
/// their stacked weights (`PairedPooledConvolution`): the image is unfolded once for both networks, and the
/// work is split between the threads by bands of rows. `FeatureExtractor.forward(_:stemDone:)` then runs the rest
/// of each network from its stem's output.
public final class StemPair {
    private let stems: PairedPooledConvolution
    private let workspace: Workspace

    /// nil unless both extractors begin with stems of the same shape.
    public init?(_ a: FeatureExtractor, _ b: FeatureExtractor) {
        guard let x = a.layers.first as? Stem, let y = b.layers.first as? Stem,
              let stems = PairedPooledConvolution(x.unit, pooledBy: x.pool, y.unit, pooledBy: y.pool) else { return nil }
        self.stems = stems
        workspace = a.workspace
    }

    /// Both stems on the normalised batch `input`, if both run as at inference; false (and nothing done) when
    /// either trains, whose stem then runs in its own forward.
    public func forward(_ input: Tensor) -> Bool {
        guard stems.infers else { return false }
        stems.forward(input, workspace)
        return true
    }
}
