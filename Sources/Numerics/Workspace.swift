/// Scratch memory shared by the layers of one network (im2col columns, their gradients).
///
/// Layers run one after another, so one growing buffer serves them all and a training step
/// allocates nothing once the largest layer has been seen.
public final class Workspace {
    private var buffer: UnsafeMutablePointer<Float>
    private var capacity: Int

    public init() {
        capacity = 1
        buffer = .allocate(capacity: 1)
    }

    deinit { buffer.deallocate() }

    func scratch(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            buffer.deallocate()
            capacity = count
            buffer = .allocate(capacity: count)
        }
        return buffer
    }
}
