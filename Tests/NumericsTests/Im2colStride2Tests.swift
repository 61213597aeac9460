import XCTest
import Foundation
@testable import Numerics

/// im2col's stride-2 rows (ResNet stems, stride-2 3x3 and 1x1 convolutions) by the AVX-512 gather against the portable
/// loop, bit for bit, over widths that end on every lane of a vector, kernels 1 to 7 and paddings 0 to 3, each image
/// laid out to end just before a page that may not be read: a gather reading past the row's last tap faults.
final class Im2colStride2Tests: XCTestCase {
    func testAVX512GatherGivesThePortableColumns() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var rng = SplitMix64(label: "im2col-stride2")
        for w in 1...70 {
            for kernel in [1, 2, 3, 7] {
                for pad in 0...min(3, kernel - 1) {
                    let h = 2 + w % 5
                    let g = ConvGeometry(c: 1, n: 1, h: h, w: w, kh: kernel, kw: kernel, stride: 2, pad: .symmetric(pad))
                    guard g.oh > 0 && g.ow > 0 else { continue }
                    let floats = h * w, bytes = (floats * 4 + page - 1) / page * page
                    let region = try XCTUnwrap(mmap(nil, bytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
                    defer { munmap(region, bytes + page) }
                    XCTAssertEqual(mprotect(region + bytes, page, PROT_NONE), 0)
                    let x = (region + bytes - floats * 4).bindMemory(to: Float.self, capacity: floats)
                    for i in 0..<floats { x[i] = rng.uniform(-1, 1) }
                    func columns(avx512: Bool) -> [Float] {
                        var cols = [Float](repeating: .nan, count: g.colRows * g.colCols)
                        InstructionSet.with(avx512: avx512) {
                            cols.withUnsafeMutableBufferPointer { im2col(x, g, images: 0..<1, $0.baseAddress!) }
                        }
                        return cols
                    }
                    XCTAssertEqual(columns(avx512: true).map(\.bitPattern), columns(avx512: false).map(\.bitPattern),
                                   "w \(w) kernel \(kernel) pad \(pad)")
                }
            }
        }
    }
}
