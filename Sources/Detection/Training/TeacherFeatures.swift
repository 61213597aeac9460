import Numerics

/// The channel-normalised teacher features of a batch as the training loss reads them: one row (a
/// channel of one image, h * w values) at a time, either Float tensors or the Float16 cache read in
/// place, so that a training step keeps no Float copy of its batch's features.
public protocol TeacherFeatures {
    associatedtype Scalar: TeacherScalar
    /// Level `l`'s shape, channel-major as the student's tap.
    func shape(level l: Int) -> (c: Int, n: Int, h: Int, w: Int)
    func row(level l: Int, channel: Int, image: Int) -> UnsafePointer<Scalar>
}

/// A stored feature value, read as Float.
public protocol TeacherScalar { var float: Float { get } }
extension Float: TeacherScalar { public var float: Float { self } }
extension Float16: TeacherScalar { public var float: Float { Float(self) } }

/// Teacher taps in Float tensors, one per level (the benchmark, tests).
extension Array: TeacherFeatures where Element == Tensor {
    public func shape(level l: Int) -> (c: Int, n: Int, h: Int, w: Int) { (self[l].c, self[l].n, self[l].h, self[l].w) }
    public func row(level l: Int, channel: Int, image: Int) -> UnsafePointer<Float> {
        UnsafePointer(self[l].data + (channel * self[l].n + image) * self[l].plane)
    }
}
