import Foundation
import Backbones

/// The peak memory of a training or scoring run, estimated from its settings before anything is
/// allocated, and checked against what the machine has free: a run that cannot fit is refused with
/// the numbers and the option to change, instead of being killed by the kernel hours later.
///
/// The model is peak = base + size² x (perImage x batch + evaluation + images x stored), in bytes,
/// fitted to `/usr/bin/time -v` peaks of `stpm train` (README, "Memory"): `perImage` is what one
/// training image's activations, gradients and im2col columns cost per input pixel, `evaluation` the
/// batch-of-8 inference buffers (held-out scoring, teacher caching), and `stored` the
/// cached teacher taps (Float16: 2 bytes x channels / stride² per tap) plus the RGB bytes of every image.
public enum MemoryBudget {
    static let base = 96_000_000

    /// Measured bytes per input pixel (see the type's comment), fitted so that every measured peak lies
    /// between 1/1.9 and 1/1.05 of its estimate. ResNet-18 uses the half-width ResNet-50's figures, which
    /// are larger (tire, batch 32, 256 px: 1.34 vs 1.88 GB). Training per image fell from 950 and 1300
    /// when im2col went in bands of images, the ResNet stems lent their output, the loss read the
    /// Float16 teacher cache in place and asked for each tap's gradient only when the backward pass
    /// reached it, and residual joins normalised their BatchNorm sides as they added (resnet50-1by2, tire,
    /// batch 32: 3.31 -> 2.36 GB), and the ResNets' from 700 when residual blocks recomputed the convolution
    /// outputs of their projections and of the bottlenecks' branch2c for the backward pass (2.36 -> 1.88 GB);
    /// EfficientNet-Lite0's evaluation figure fell from 4216 with its inference by bands (stpm score on
    /// tire's test images at 256 px: 98 MB), and from 2075 as its small-batch peaks fell (512 px, batch 2:
    /// 621 -> 537 MB); its training figure from 870 when the stem's output went to a workspace tensor.
    static func perPixel(_ kind: BackboneKind) -> (trainingImage: Int, evaluation: Int) {
        switch kind {
        case .efficientnetLite0: (850, 1700)
        case .resnet50Half, .resnet18: (520, 6587)
        }
    }

    /// Bytes per pixel that each training image keeps for the whole run.
    static func storedPerPixel(_ kind: BackboneKind) -> Int {
        let c = kind.tapChannels
        return MemoryLayout<Float16>.size * (c[0] * 256 / 16 + c[1] * 256 / 64 + c[2]) / 256 + 3
    }

    public static func training(_ options: TrainingOptions, images: Int) -> Int {
        let (perImage, evaluation) = perPixel(options.backbone)
        let pixels = options.size * options.size
        let perPixel = perImage * options.batchSize + evaluation + images * storedPerPixel(options.backbone)
        return base + pixels.multipliedReportingOverflow(by: perPixel).partialValue
    }

    /// Scoring's peak: base + fixed + size² x perPixel x batch / 8 (batch 8 at least), fitted to
    /// `/usr/bin/time -v stpm score` of 500 tire-size PNGs at 256 and 512 px (`MemoryBudgetTests`). The
    /// ResNets' peaks grow far slower than their pixels (resnet50-1by2: 294 MB at 256 px, 452 MB at 512),
    /// so one per-pixel figure either fell below the 256 px peak or, as the old one did, asked 1.8 GB for
    /// the 512 px run. ResNet-18 takes the half-width ResNet-50's figures, as in training (unmeasured here:
    /// its ImageNet weights cannot be fetched on this machine).
    public static func scoring(_ kind: BackboneKind, size: Int, batch: Int) -> Int {
        let (fixed, perPixel) = scoringParts(kind)
        return base + fixed + size * size * perPixel * max(batch, 8) / 8
    }

    static func scoringParts(_ kind: BackboneKind) -> (fixed: Int, perPixel: Int) {
        switch kind {
        case .efficientnetLite0: (0, 800)
        case .resnet50Half, .resnet18: (160_000_000, 1000)
        }
    }

    /// MemAvailable from /proc/meminfo (what the kernel can give without swapping), nil where unknown.
    public static func available(meminfo: String = "/proc/meminfo") -> Int? {
        guard let text = try? String(contentsOfFile: meminfo, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kB = Int(fields[1]) else { return nil }
            return kB * 1024
        }
        return nil
    }

    /// Throws when `estimate` exceeds the available memory; `what` names the run, `advice` the option to change.
    public static func check(estimate: Int, what: String, advice: String, available: Int? = available()) throws {
        guard let available, estimate > available else { return }
        throw MemoryBudgetError.tooLarge(what: what, estimate: estimate, available: available, advice: advice)
    }

    /// Refuses a training run that cannot fit, suggesting the largest batch that would.
    public static func checkTraining(_ options: TrainingOptions, images: Int, available: Int? = available()) throws {
        let estimate = training(options, images: images)
        var smaller = options
        while smaller.batchSize > 1 && training(smaller, images: images) > (available ?? .max) { smaller.batchSize /= 2 }
        let advice = training(smaller, images: images) <= (available ?? .max)
            ? "use --batch \(smaller.batchSize) or a smaller --size"
            : "use a smaller --size (memory grows with its square)"
        try check(estimate: estimate, what: "training \(images) images at \(options.size) px with --batch \(options.batchSize) "
                  + "(\(options.backbone.rawValue))", advice: advice, available: available)
    }
}

public enum MemoryBudgetError: Error, CustomStringConvertible {
    case tooLarge(what: String, estimate: Int, available: Int, advice: String)

    public var description: String {
        switch self {
        case let .tooLarge(what, estimate, available, advice):
            String(format: "%@ needs about %.1f GB of memory, but this machine has %.1f GB available (MemAvailable in /proc/meminfo); %@",
                   what, Double(estimate) / 1e9, Double(available) / 1e9, advice)
        }
    }
}
