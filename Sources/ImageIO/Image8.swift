import CKernels
import Numerics

/// An 8-bit image, row-major with interleaved channels (1 = gray, 3 = RGB).
public struct Image8: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size")
        precondition(channels == 1 || channels == 3, "Image8 holds 1 or 3 channels, not \(channels)")
        precondition(pixels.count == width * height * channels, "pixel count does not match \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    public init(width: Int, height: Int, channels: Int) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: 0, count: width * height * channels))
    }

    /// Gray becomes R = G = B (what Pillow's convert('RGB') does for mode L).
    public func toRGB() -> Image8 {
        if channels == 3 { return self }
        var out = [UInt8](repeating: 0, count: pixels.count * 3)
        for i in 0..<pixels.count {
            let v = pixels[i]
            out[3 * i] = v
            out[3 * i + 1] = v
            out[3 * i + 2] = v
        }
        return Image8(width: width, height: height, channels: 3, pixels: out)
    }

    /// Pillow's convert('L'): ITU-R 601-2 luma in 16.16 fixed point with rounding, so gray masks
    /// and images match what the Python side sees (libpng's own conversion works in linear light instead).
    public func toGray() -> Image8 {
        if channels == 1 { return self }
        let n = width * height
        var out = [UInt8](repeating: 0, count: n)
        for i in 0..<n {
            let r = UInt32(pixels[3 * i]), g = UInt32(pixels[3 * i + 1]), b = UInt32(pixels[3 * i + 2])
            out[i] = UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
        return Image8(width: width, height: height, channels: 1, pixels: out)
    }
}

extension Image8 {
    /// An RGB image's channels as float planes of width * height values each (0 ... 255): the AVX-512
    /// kernel (`stpm_rgb_to_planes_avx512`) where there is one, the loop below otherwise, its reference.
    public func copyPlanes(red: UnsafeMutablePointer<Float>, green: UnsafeMutablePointer<Float>, blue: UnsafeMutablePointer<Float>) {
        precondition(channels == 3, "planes of an RGB image")
        let count = width * height
        pixels.withUnsafeBufferPointer { px in
            guard let base = px.baseAddress else { return }
            if InstructionSet.avx512 {
                stpm_rgb_to_planes_avx512(base, count, red, green, blue)
                return
            }
            func copy(_ c: Int, to plane: UnsafeMutablePointer<Float>) {
                for i in 0..<count { plane[i] = Float(base[i * 3 + c]) }
            }
            copy(0, to: red)
            copy(1, to: green)
            copy(2, to: blue)
        }
    }
}
