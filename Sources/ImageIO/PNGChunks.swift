/// Pillow ignores every ancillary chunk when decoding pixels, but libpng's simplified API honours
/// gAMA/sRGB/iCCP/cHRM (gamma-correcting the data) and tRNS (adding alpha it would then composite).
/// Handing libpng only the critical chunks makes it return the stored samples, as Pillow does.
enum PNGChunks {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Malformed input is passed through from the first bad chunk on, so libpng reports the error.
    static func criticalOnly(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { return bytes }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        out.append(contentsOf: signature)
        var pos = 8
        while pos + 12 <= bytes.count {
            let length = Int(bytes[pos]) << 24 | Int(bytes[pos + 1]) << 16 | Int(bytes[pos + 2]) << 8 | Int(bytes[pos + 3])
            let end = pos + 12 + length
            guard end <= bytes.count else { break }
            // Bit 5 of the first type byte (lower case) marks a chunk as ancillary.
            if bytes[pos + 4] & 0x20 == 0 {
                out.append(contentsOf: bytes[pos..<end])
            }
            pos = end
        }
        out.append(contentsOf: bytes[pos...])
        return out
    }
}
