/// A named array of floats with the shape PyTorch gives it, plus the buffers training needs.
///
/// `grad` and `momentum` are allocated lazily: a frozen teacher never pays for them.
public final class Parameter {
    public let name: String
    public let shape: [Int]
    public let count: Int
    public let value: UnsafeMutablePointer<Float>
    public private(set) var grad: UnsafeMutablePointer<Float>?
    public private(set) var momentum: UnsafeMutablePointer<Float>?
    /// Whether SGD has taken a step yet: torch's first step copies the gradient into the buffer.
    public var momentumStarted = false
    /// Running statistics are state, not parameters: saved and loaded, never touched by SGD.
    public let trainable: Bool
    /// Counts writes to `value`, so that layers caching something derived from it (Conv2d's Winograd
    /// filter transform) know when to recompute. Writers through the raw pointer call `markChanged`.
    public private(set) var version = 0

    public func markChanged() { version &+= 1 }

    public init(name: String, shape: [Int], trainable: Bool = true, fill: Float = 0) {
        self.name = name
        self.shape = shape
        self.trainable = trainable
        count = shape.reduce(1, *)
        value = .allocate(capacity: max(count, 1))
        value.initialize(repeating: fill, count: max(count, 1))
    }

    deinit {
        value.deallocate()
        grad?.deallocate()
        momentum?.deallocate()
    }

    public func enableGrad() {
        guard grad == nil else { return }
        let g = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        g.initialize(repeating: 0, count: max(count, 1))
        grad = g
    }

    public func enableMomentum() {
        guard momentum == nil else { return }
        let m = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        m.initialize(repeating: 0, count: max(count, 1))
        momentum = m
    }

    public var values: [Float] {
        get { Array(UnsafeBufferPointer(start: value, count: count)) }
        set {
            precondition(newValue.count == count, "parameter \(name): \(newValue.count) values for \(count) elements")
            value.update(from: newValue, count: count)
            markChanged()
        }
    }

    public var gradients: [Float] { grad.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? [] }
}
