import CSixel
import Foundation
import ImageIO

/// Escape sequences that show an RGB image in a rectangle of cells, one encoder per protocol.
/// Each draws at the cursor; `positioned` puts it at a rectangle's top-left cell.
public enum TerminalImageSequences {
    /// Base64 bytes per kitty chunk; the protocol's limit.
    public static let kittyChunk = 4096

    /// kitty graphics protocol: transmit and display (a=T) a PNG (f=100) as image `id`, scaled into
    /// `cells` (c, r), without moving the cursor (C=1) and without replies (q=2), which would otherwise
    /// arrive on stdin as keys.
    public static func kitty(png: [UInt8], id: UInt32, cells: Rect) -> [UInt8] {
        let payload = Array(Data(png).base64EncodedString().utf8)
        var out: [UInt8] = []
        var offset = 0
        repeat {
            let end = min(offset + kittyChunk, payload.count)
            let more = end < payload.count ? 1 : 0
            let keys = offset == 0 ? "a=T,f=100,i=\(id),c=\(cells.width),r=\(cells.height),C=1,q=2,m=\(more)" : "q=2,m=\(more)"
            out += Array("\u{1B}_G\(keys);".utf8) + payload[offset..<end] + Array("\u{1B}\\".utf8)
            offset = end
        } while offset < payload.count
        return out
    }

    /// Deletes image `id` and frees its data (upper-case I), wherever it is placed.
    public static func kittyDelete(id: UInt32) -> [UInt8] {
        Array("\u{1B}_Ga=d,d=I,i=\(id),q=2\u{1B}\\".utf8)
    }

    /// iTerm2 inline image (OSC 1337 File=), stretched to exactly `cells`: the image was already
    /// composed at the rectangle's aspect.
    public static func iterm(png: [UInt8], cells: Rect) -> [UInt8] {
        let header = "\u{1B}]1337;File=inline=1;size=\(png.count);width=\(cells.width);height=\(cells.height);preserveAspectRatio=0:"
        return Array(header.utf8) + Array(Data(png).base64EncodedString().utf8) + [0x07]
    }

    /// Sixel through libsixel, with a palette of up to 256 colours fitted to this image (median cut)
    /// and no dithering: dither patterns would read as texture in an anomaly heatmap.
    public static func sixel(_ image: PixelImage) throws -> [UInt8] {
        var rgb = image.pixels.flatMap { [$0.r, $0.g, $0.b] }
        var dither: OpaquePointer?
        guard stpm_sixel_failed(sixel_dither_new(&dither, 256, nil)) == 0, let dither else { throw SixelError.failed("sixel_dither_new") }
        defer { sixel_dither_unref(dither) }
        let initialized = rgb.withUnsafeMutableBufferPointer {
            sixel_dither_initialize(dither, $0.baseAddress, Int32(image.width), Int32(image.height),
                                    stpm_sixel_pixelformat_rgb888(), SIXEL_LARGE_AUTO, SIXEL_REP_AUTO, SIXEL_QUALITY_HIGH)
        }
        guard stpm_sixel_failed(initialized) == 0 else { throw SixelError.failed("sixel_dither_initialize") }
        sixel_dither_set_diffusion_type(dither, SIXEL_DIFFUSE_NONE)
        let sink = SixelSink()
        var output: OpaquePointer?
        let created = sixel_output_new(&output, { data, size, priv in
            guard let data, let priv, size > 0 else { return 0 }
            Unmanaged<SixelSink>.fromOpaque(priv).takeUnretainedValue().bytes += UnsafeRawBufferPointer(start: data, count: Int(size))
            return size
        }, Unmanaged.passUnretained(sink).toOpaque(), nil)
        guard stpm_sixel_failed(created) == 0, let output else { throw SixelError.failed("sixel_output_new") }
        defer { sixel_output_unref(output) }
        let encoded = rgb.withUnsafeMutableBufferPointer {
            sixel_encode($0.baseAddress, Int32(image.width), Int32(image.height), 8, dither, output)
        }
        guard stpm_sixel_failed(encoded) == 0 else { throw SixelError.failed("sixel_encode") }
        return withExtendedLifetime(sink) { sink.bytes }
    }

    /// The PNG the kitty and iTerm2 encoders carry.
    public static func png(_ image: PixelImage) throws -> [UInt8] {
        try PNGFile.encode(Image8(width: image.width, height: image.height, channels: 3, pixels: image.pixels.flatMap { [$0.r, $0.g, $0.b] }))
    }

    /// tmux forwards a sequence to the outer terminal only inside its passthrough DCS, with every
    /// ESC doubled (and only with `allow-passthrough on`).
    public static func tmuxPassthrough(_ sequence: [UInt8]) -> [UInt8] {
        Array("\u{1B}Ptmux;".utf8) + sequence.flatMap { $0 == 0x1B ? [0x1B, 0x1B] : [$0] } + Array("\u{1B}\\".utf8)
    }

    /// Save cursor, move to the rectangle's top-left (1-based), the sequence, restore cursor: curses'
    /// idea of where the cursor is stays true.
    public static func positioned(_ cells: Rect, _ sequence: [UInt8]) -> [UInt8] {
        Array("\u{1B}7\u{1B}[\(cells.y + 1);\(cells.x + 1)H".utf8) + sequence + Array("\u{1B}8".utf8)
    }
}

private final class SixelSink {
    var bytes: [UInt8] = []
}

public enum SixelError: Error, CustomStringConvertible {
    case failed(String)

    public var description: String {
        switch self {
        case .failed(let call): "libsixel: \(call) failed"
        }
    }
}
