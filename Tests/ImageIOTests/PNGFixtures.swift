/// Hand-built PNGs (Python zlib + struct, no Pillow), base64-encoded so the test target needs no resources.
/// Each expectation below is what Pillow 13's `Image.open(f).convert('RGB' | 'L')` returns for that file.
enum PNGFixtures {
    /// 3x2 RGBA with alpha 255, 128, 0, 0, 1, 255: alpha must be dropped, not composited.
    static let rgba8 = "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAYAAACddGYaAAAAI0lEQVR4nGM4wSX3X8PIpuHX7z8MDIxMzAxRW3QZGRgY/gMAeu4IOCxaEpYAAAAASUVORK5CYII="
    static let rgba8RGB: [UInt8] = [200, 10, 30, 40, 50, 60, 250, 251, 252, 1, 2, 3, 90, 180, 45, 0, 0, 0]
    static let rgba8Gray: [UInt8] = [69, 48, 251, 2, 138, 0]

    /// 3x1 gray + alpha (7, 255), (128, 0), (255, 30).
    static let grayAlpha8 = "iVBORw0KGgoAAAANSUhEUgAAAAMAAAABCAQAAACx6dw/AAAAD0lEQVR4nGNg/9/A8F8OAAlIAqRfcoV7AAAAAElFTkSuQmCC"
    static let grayAlpha8Gray: [UInt8] = [7, 128, 255]

    /// 4x1 palette (red, green, blue, (10, 20, 30)) with a tRNS chunk that must be ignored.
    static let palette = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAABCAMAAADO4v//AAAADFBMVEX/AAAA/wAAAP8KFB4iiCkEAAAAAnRSTlMAgJsrThgAAAANSURBVHicY2BgZGIGAAAPAAeEjpltAAAAAElFTkSuQmCC"
    static let paletteRGB: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
    static let paletteGray: [UInt8] = [76, 150, 29, 18]

    /// 4x1 16-bit gray 0, 200, 256, 65535: stpm keeps the high byte (Pillow's 'I;16' would clip to 0, 200, 255, 255).
    static let gray16 = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAABEAAAAACMx4xSAAAAEUlEQVR4nGNgYGA4wcjw/z8ABvICyL3PHI8AAAAASUVORK5CYII="
    static let gray16Gray: [UInt8] = [0, 0, 1, 255]

    /// 2x1 16-bit RGB (0x12FF, 0x8000, 0xFFFF), (0x00FF, 0x7F80, 0x0101): Pillow keeps the high byte.
    static let rgb16 = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABEAIAAAAr0DSeAAAAFUlEQVR4nGMQ+t/A8P8/w//6BkZGAChFBZC6+a9uAAAAAElFTkSuQmCC"
    static let rgb16RGB: [UInt8] = [18, 128, 255, 0, 127, 1]

    /// 2x1 16-bit RGBA: opaque (0x12FF, 0x8000, 0xFFFF), then (0x4000, 0x2345, 0xC000) at alpha 0x8000.
    static let rgba16 = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABEAYAAACksqPJAAAAGElEQVR4nGMQ+t/A8B8IHBiUXQ8wNDAAAEkjB3Zts9aaAAAAAElFTkSuQmCC"
    static let rgba16RGB: [UInt8] = [18, 128, 255, 64, 35, 192]

    /// 4x1 8-bit gray 0, 64, 128, 200 with gAMA 1.0, which libpng alone would gamma-correct and Pillow ignores.
    static let gray8Gamma1 = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAABCAAAAADcV1ARAAAABGdBTUEAAYagMeiWXwAAAA1JREFUeJxjYHBoOAEAAo0Bib7i0BEAAAAASUVORK5CYII="
    static let gray8Gamma1Gray: [UInt8] = [0, 64, 128, 200]

    /// 8x1 1-bit gray 10110010 and 4x1 2-bit gray 0, 1, 2, 3: low depths scale to 0...255.
    static let gray1 = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAABAQAAAADLe9LuAAAACklEQVR4nGPYBAAAtACzJBi3ogAAAABJRU5ErkJggg=="
    static let gray2 = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAABAgAAAACW50iwAAAACklEQVR4nGOQBgAAHQAcjvT1IQAAAABJRU5ErkJggg=="
    static let gray1Gray: [UInt8] = [255, 0, 255, 255, 0, 0, 255, 0]
    static let gray2Gray: [UInt8] = [0, 85, 170, 255]
}
