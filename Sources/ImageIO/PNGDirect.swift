import CISAL
import CKernels
import Foundation
import Numerics

/// The PNGs cameras and most tools write (8-bit gray, gray+alpha, RGB or RGBA, not interlaced) decoded
/// without libpng: the IDAT chunks joined and inflated by ISA-L (igzip) in one call, then the row filters
/// undone. libpng inflates row by row through zlib and took about twice as long (half of `stpm score`'s
/// decoding time), time the networks could have used; igzip decodes several literals per table lookup and
/// took 25 % less time than libdeflate on the tire PNGs, whose streams are mostly literals.
///
/// It only ever answers for a file libpng would decode to the same bytes, and gives up (nil) on anything
/// else, so `PNGFile` then hands the file to libpng, which decodes it or names the error: other layouts,
/// a bad CRC on a critical chunk, an unknown critical chunk, a zlib window other than 32K, a stream
/// that is corrupt, short, long or followed by more data, a bad filter byte, no IEND.
enum PNGDirect {
    static func decode(_ bytes: [UInt8]) -> Image8? {
        bytes.withUnsafeBufferPointer { decode($0) }
    }

    private static func decode(_ file: UnsafeBufferPointer<UInt8>) -> Image8? {
        func word(_ at: Int) -> Int { Int(file[at]) << 24 | Int(file[at + 1]) << 16 | Int(file[at + 2]) << 8 | Int(file[at + 3]) }
        func type(_ at: Int, _ name: StaticString) -> Bool {
            name.withUTF8Buffer { n in (0..<4).allSatisfy { file[at + 4 + $0] == n[$0] } }
        }
        // IHDR first: 13 bytes of data.
        guard file.count >= 8 + 25, word(8) == 13, type(8, "IHDR"), crcMatches(file, chunk: 8, length: 13) else { return nil }
        let width = word(16), height = word(20)
        let depth = file[24], colorType = file[25]
        guard depth == 8, file[26] == 0, file[27] == 0, file[28] == 0, width > 0, height > 0,
              (try? ImageLimits.check(width: width, height: height, path: "")) != nil else { return nil }
        let samples: Int
        switch colorType {
        case 0: samples = 1
        case 2: samples = 3
        case 4: samples = 2
        case 6: samples = 4
        default: return nil
        }
        // The data's chunks; ancillary ones are skipped unchecked, as `PNGChunks.criticalOnly` hands libpng none.
        var idat: [(start: Int, length: Int)] = []
        var sawPalette = false, sawEnd = false
        var pos = 8 + 25
        while pos + 12 <= file.count {
            let length = word(pos)
            guard length <= Int(Int32.max), pos + 12 + length <= file.count else { return nil }
            if file[pos + 4] & 0x20 == 0 {
                guard crcMatches(file, chunk: pos, length: length) else { return nil }
                if type(pos, "IDAT") {
                    idat.append((pos + 8, length))
                } else if type(pos, "IEND") {
                    guard length == 0 else { return nil }
                    sawEnd = true
                    break
                } else if type(pos, "PLTE") {
                    // A suggested palette for truecolour, before the data; libpng refuses one in a gray image.
                    guard colorType & 2 != 0, idat.isEmpty, !sawPalette, length > 0, length <= 768, length % 3 == 0 else { return nil }
                    sawPalette = true
                } else {
                    return nil
                }
            }
            pos += 12 + length
        }
        guard sawEnd, !idat.isEmpty else { return nil }
        let (rowBytes, o1) = width.multipliedReportingOverflow(by: samples)
        let (rawCount, o2) = (rowBytes + 1).multipliedReportingOverflow(by: height)
        guard !o1, !o2 else { return nil }
        // Neither buffer is zeroed first: the inflate fills `raw` (or the file goes to libpng) and the filters write every pixel.
        var complete = false
        let raw = [UInt8](unsafeUninitializedCapacity: rawCount) { raw, initialized in
            complete = inflate(file, parts: idat, into: raw)
            initialized = rawCount
        }
        guard complete else { return nil }
        let channels = samples & 1 == 0 ? samples - 1 : samples
        var unfiltered = false
        let pixels = [UInt8](unsafeUninitializedCapacity: rowBytes * height) { out, initialized in
            initialized = 0
            raw.withUnsafeBufferPointer { raw in
                unfiltered = PNGRowFilters.undo(raw.baseAddress!, rows: height, rowBytes: rowBytes, bytesPerPixel: samples,
                                                into: out.baseAddress!)
            }
            guard unfiltered else { return }
            if samples != channels { dropAlpha(out.baseAddress!, pixels: width * height, samples: samples) }
            initialized = width * height * channels
        }
        return unfiltered ? Image8(width: width, height: height, channels: channels, pixels: pixels) : nil
    }

    private static func crcMatches(_ file: UnsafeBufferPointer<UInt8>, chunk: Int, length: Int) -> Bool {
        let stored = UInt32(file[chunk + 8 + length]) << 24 | UInt32(file[chunk + 9 + length]) << 16
            | UInt32(file[chunk + 10 + length]) << 8 | UInt32(file[chunk + 11 + length])
        return crc32_gzip_refl(0, file.baseAddress! + chunk + 4, UInt64(length + 4)) == stored
    }

    /// The zlib stream of the IDAT chunks, joined and inflated in one call (igzip's stateless decoder writes
    /// straight to `raw`; fed chunk by chunk, its stateful one decoded through its own buffer and kept 32K of
    /// history per chunk). The deflate data must fill `raw` exactly and end where the stream's last 4 bytes,
    /// its Adler-32, begin; the checksum is then taken of `raw` (`Adler32`).
    private static func inflate(_ file: UnsafeBufferPointer<UInt8>, parts: [(start: Int, length: Int)],
                                into raw: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        let total = parts.reduce(0) { $0 + $1.length }
        guard raw.count <= Int(UInt32.max), total >= 6, total <= Int(UInt32.max) else { return false }
        let stream = UnsafeMutablePointer<UInt8>.allocate(capacity: total)
        defer { stream.deallocate() }
        var joined = 0
        for part in parts {
            (stream + joined).update(from: file.baseAddress! + part.start, count: part.length)
            joined += part.length
        }
        // zlib's header: deflate with a 32K window (CINFO 7: zlib, and so libpng, refuses a stream reaching
        // further back than its header's window; igzip does not), its check bits, no preset dictionary.
        guard stream[0] == 0x78, (Int(stream[0]) << 8 | Int(stream[1])) % 31 == 0, stream[1] & 0x20 == 0 else { return false }
        // 87 KB of tables and window, too much for the stack of a reader thread.
        let state = UnsafeMutablePointer<inflate_state>.allocate(capacity: 1)
        defer { state.deallocate() }
        isal_inflate_init(state)
        state.pointee.crc_flag = UInt32(ISAL_DEFLATE)
        state.pointee.next_in = stream + 2
        state.pointee.avail_in = UInt32(total - 6)
        state.pointee.next_out = raw.baseAddress
        state.pointee.avail_out = UInt32(raw.count)
        // igzip stops where `raw` is full (a longer stream fails) and hands back the input it did not use.
        guard isal_inflate_stateless(state) == ISAL_DECOMP_OK, state.pointee.avail_in == 0,
              state.pointee.total_out == raw.count else { return false }
        let stored = UInt32(stream[total - 4]) << 24 | UInt32(stream[total - 3]) << 16 | UInt32(stream[total - 2]) << 8
            | UInt32(stream[total - 1])
        return Adler32.checksum(UnsafeBufferPointer(raw)) == stored
    }

    /// Gray + alpha or RGBA pixels compacted in place to gray or RGB (Pillow's convert drops alpha).
    private static func dropAlpha(_ pixels: UnsafeMutablePointer<UInt8>, pixels count: Int, samples: Int) {
        let channels = samples - 1
        for x in 0..<count {
            for c in 0..<channels { pixels[x * channels + c] = pixels[x * samples + c] }
        }
    }
}

/// PNG's five row filters undone (PNG 1.2 section 6): filtered rows of `rowBytes` bytes, each after its
/// filter-type byte, into rows of `rowBytes` bytes, each unfiltered row the next one's row above.
enum PNGRowFilters {
    /// False on a filter type above 4 (libpng names that error). RGB and RGBA go to the AVX-512 kernel,
    /// which runs up to 64 rows side by side (`stpm_png_unfilter_avx512`), where there is one; the loops below
    /// are the portable path and the kernel's reference.
    static func undo(_ raw: UnsafePointer<UInt8>, rows: Int, rowBytes: Int, bytesPerPixel bpp: Int,
                     into out: UnsafeMutablePointer<UInt8>) -> Bool {
        guard InstructionSet.avx512, bpp == 3 || bpp == 4 else {
            return undoPortably(raw, rows: rows, rowBytes: rowBytes, bytesPerPixel: bpp, into: out)
        }
        return stpm_png_unfilter_avx512(raw, rows, rowBytes, bpp, out) != 0
    }

    static func undoPortably(_ raw: UnsafePointer<UInt8>, rows: Int, rowBytes: Int, bytesPerPixel bpp: Int,
                     into out: UnsafeMutablePointer<UInt8>) -> Bool {
        for y in 0..<rows {
            let src = raw + y * (rowBytes + 1) + 1, row = out + y * rowBytes
            // The row above; the first row's is zero, which makes Up a copy, Average half of Sub and Paeth Sub.
            let above: UnsafeMutablePointer<UInt8>? = y > 0 ? row - rowBytes : nil
            let lead = min(bpp, rowBytes)
            switch src[-1] {
            case 0:
                row.update(from: src, count: rowBytes)
            case 1:
                row.update(from: src, count: lead)
                for i in bpp..<max(bpp, rowBytes) { row[i] = src[i] &+ row[i - bpp] }
            case 2:
                guard let above else { row.update(from: src, count: rowBytes); break }
                for i in 0..<rowBytes { row[i] = src[i] &+ above[i] }
            case 3 where bpp == 3 && above != nil:
                RGBFilters.average(src, above: above!, rowBytes: rowBytes, into: row)
            case 4 where bpp == 3 && above != nil:
                RGBFilters.paeth(src, above: above!, rowBytes: rowBytes, into: row)
            case 3:
                if let above {
                    for i in 0..<lead { row[i] = src[i] &+ above[i] >> 1 }
                    for i in bpp..<max(bpp, rowBytes) { row[i] = src[i] &+ UInt8((UInt16(row[i - bpp]) + UInt16(above[i])) >> 1) }
                } else {
                    row.update(from: src, count: lead)
                    for i in bpp..<max(bpp, rowBytes) { row[i] = src[i] &+ row[i - bpp] >> 1 }
                }
            case 4:
                guard let above else {
                    row.update(from: src, count: lead)
                    for i in bpp..<max(bpp, rowBytes) { row[i] = src[i] &+ row[i - bpp] }
                    break
                }
                for i in 0..<lead { row[i] = src[i] &+ above[i] }
                for i in bpp..<max(bpp, rowBytes) {
                    row[i] = src[i] &+ paeth(Int(row[i - bpp]), Int(above[i]), Int(above[i - bpp]))
                }
            default: return false
            }
        }
        return true
    }

    /// The neighbour nearest to left + above - upper-left, ties going to left, then above.
    @inline(__always)
    static func paeth(_ a: Int, _ b: Int, _ c: Int) -> UInt8 {
        let pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c)
        let nearer = pb < pa ? b : a
        return UInt8(truncatingIfNeeded: pc < min(pa, pb) ? c : nearer)
    }
}

/// Average and Paeth on RGB rows with the pixel to the left kept in registers: the byte loops above
/// read it back from the byte they just stored, a store-to-load wait on every byte, and these two filters
/// are nearly every row of the tire PNGs. The same arithmetic, so the same bytes.
enum RGBFilters {
    static func average(_ src: UnsafePointer<UInt8>, above: UnsafePointer<UInt8>, rowBytes: Int, into row: UnsafeMutablePointer<UInt8>) {
        var r = 0, g = 0, b = 0
        @inline(__always) func step(_ i: Int, _ left: Int) -> Int {
            let v = (Int(src[i]) + ((left + Int(above[i])) >> 1)) & 255
            row[i] = UInt8(truncatingIfNeeded: v)
            return v
        }
        for i in stride(from: 0, to: rowBytes, by: 3) {
            r = step(i, r)
            g = step(i + 1, g)
            b = step(i + 2, b)
        }
    }

    static func paeth(_ src: UnsafePointer<UInt8>, above: UnsafePointer<UInt8>, rowBytes: Int, into row: UnsafeMutablePointer<UInt8>) {
        // Left and upper-left start at zero, which makes Paeth pick the byte above for the first pixel.
        var r = 0, g = 0, b = 0, upperR = 0, upperG = 0, upperB = 0
        @inline(__always) func step(_ i: Int, _ left: Int, _ upperLeft: inout Int) -> Int {
            let up = Int(above[i])
            let v = (Int(src[i]) + Int(PNGRowFilters.paeth(left, up, upperLeft))) & 255
            row[i] = UInt8(truncatingIfNeeded: v)
            upperLeft = up
            return v
        }
        for i in stride(from: 0, to: rowBytes, by: 3) {
            r = step(i, r, &upperR)
            g = step(i + 1, g, &upperG)
            b = step(i + 2, b, &upperB)
        }
    }
}
