/// A single-channel float map (anomaly map, mask), row-major.
public struct ScalarMap: Equatable, Sendable {
    public let width: Int, height: Int
    public var values: [Float]

    public init(width: Int, height: Int, values: [Float]) {
        precondition(values.count == width * height, "value count must be width × height")
        self.width = width; self.height = height; self.values = values
    }

    public subscript(x: Int, y: Int) -> Float { values[y * width + x] }
}
