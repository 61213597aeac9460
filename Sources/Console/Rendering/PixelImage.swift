/// An RGB image as the inspector receives it (decoded elsewhere), row-major.
public struct PixelImage: Equatable, Sendable {
    public let width: Int, height: Int
    public var pixels: [RGB]

    public init(width: Int, height: Int, pixels: [RGB]) {
        precondition(pixels.count == width * height, "pixel count must be width × height")
        self.width = width; self.height = height; self.pixels = pixels
    }

    public subscript(x: Int, y: Int) -> RGB { pixels[y * width + x] }
}
