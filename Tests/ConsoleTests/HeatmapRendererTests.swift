import XCTest
@testable import Console
import Detection

final class HeatmapRendererTests: XCTestCase {
    private let grey = Colormap(name: "grey", stops: [RGB(0, 0, 0), RGB(255, 255, 255)])

    func testHalfBlockCellsCarryUpperAndLowerPixels() {
        let px = [RGB(255, 0, 0), RGB(0, 255, 0), RGB(0, 0, 255), RGB(9, 9, 9), RGB(1, 2, 3), RGB(4, 5, 6)]
        let image = PixelImage(width: 2, height: 3, pixels: px)
        var g = CellGrid(width: 4, height: 3)
        HeatmapRenderer.drawHalfBlocks(image, into: &g, at: Rect(x: 1, y: 1, width: 2, height: 2), background: .terminalDefault)
        XCTAssertEqual(g[1, 1].character, "▀")
        XCTAssertEqual(g[1, 1].style.fg, .rgb(px[0]))
        XCTAssertEqual(g[1, 1].style.bg, .rgb(px[2]))
        XCTAssertEqual(g[2, 1].style.fg, .rgb(px[1]))
        XCTAssertEqual(g[2, 1].style.bg, .rgb(px[3]))
        XCTAssertEqual(g[1, 2].style.fg, .rgb(px[4]))
        XCTAssertEqual(g[1, 2].style.bg, .terminalDefault, "odd last row leaves the lower half empty")
        XCTAssertEqual(g[0, 0].character, " ")
    }

    func testFitKeepsAspectWithSquareHalfBlockPixels() {
        XCTAssertEqual(HeatmapRenderer.fittedPixels(sourceWidth: 256, sourceHeight: 256, cellsWide: 80, cellsHigh: 20) .width, 40)
        XCTAssertEqual(HeatmapRenderer.fittedPixels(sourceWidth: 256, sourceHeight: 256, cellsWide: 80, cellsHigh: 20).height, 40)
        let wide = HeatmapRenderer.fittedPixels(sourceWidth: 400, sourceHeight: 100, cellsWide: 40, cellsHigh: 30)
        XCTAssertEqual(wide.width, 40); XCTAssertEqual(wide.height, 10)
        let small = HeatmapRenderer.fittedPixels(sourceWidth: 4, sourceHeight: 4, cellsWide: 10, cellsHigh: 10)
        XCTAssertEqual(small.width, 10, "zoom to fit enlarges small sources")
    }

    func testAreaAveragingDownscale() {
        let map = ScalarMap(width: 4, height: 2, values: [0, 1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(AreaResampler.resample(map, toWidth: 2, toHeight: 1).values, [2.5, 4.5])
        let odd = AreaResampler.resample(ScalarMap(width: 3, height: 1, values: [0, 3, 6]), toWidth: 2, toHeight: 1)
        XCTAssertEqual(odd.values[0], 1, accuracy: 1e-5, "covers pixel 0 and half of pixel 1")
        XCTAssertEqual(odd.values[1], 5, accuracy: 1e-5)
        let image = PixelImage(width: 2, height: 2, pixels: [RGB(0, 0, 0), RGB(255, 255, 255), RGB(255, 0, 0), RGB(0, 0, 255)])
        XCTAssertEqual(AreaResampler.resample(image, toWidth: 1, toHeight: 1).pixels, [RGB(128, 64, 128)])
        XCTAssertEqual(AreaResampler.resample(image, toWidth: 4, toHeight: 4)[3, 3], RGB(0, 0, 255), "enlarging replicates")
    }

    func testHeatmapOverlayAndOutlines() throws {
        let map = ScalarMap(width: 4, height: 4, values: [
            0, 0, 0, 0,
            0, 1, 1, 0,
            0, 1, 1, 0,
            0, 0, 0, 0,
        ])
        let photo = PixelImage(width: 4, height: 4, pixels: Array(repeating: RGB(0, 0, 200), count: 16))
        var r = HeatmapRenderer(colormap: grey, range: 0...1, threshold: 0.5)
        r.showOutlines = false
        let input = InspectorImage(image: photo, anomalyMap: map)
        XCTAssertEqual(try XCTUnwrap(r.pixels(.heatmap, of: input, width: 4, height: 4))[1, 1], RGB(255, 255, 255))
        XCTAssertEqual(try XCTUnwrap(r.pixels(.overlay, of: input, width: 4, height: 4))[1, 1], RGB(128, 128, 228))
        XCTAssertEqual(try XCTUnwrap(r.pixels(.predictedMask, of: input, width: 4, height: 4))[0, 0], RGB(0, 0, 0))
        XCTAssertNil(r.pixels(.groundTruth, of: input, width: 4, height: 4), "no ground truth, nothing to show")
        r.showOutlines = true
        let outlined = try XCTUnwrap(r.pixels(.image, of: input, width: 4, height: 4))
        XCTAssertEqual(outlined[1, 1], r.predictedOutline)
        XCTAssertEqual(outlined[0, 0], RGB(0, 0, 200))
        let big = ScalarMap(width: 5, height: 5, values: (0..<25).map { $0 % 5 == 0 || $0 % 5 == 4 || $0 < 5 || $0 >= 20 ? 0 : 1 })
        let inner = OverlayPanels.outline(big.values.map { $0 >= 0.5 }, width: 5, height: 5)
        XCTAssertEqual(inner.count, 8, "a 3×3 blob has 8 edge pixels; its centre is inside")
        XCTAssertFalse(inner.contains(12))
    }

    func testDrawCentresAndKeepsAspect() throws {
        let map = ScalarMap(width: 8, height: 8, values: Array(repeating: 1, count: 64))
        let r = HeatmapRenderer(colormap: grey, range: 0...1, threshold: 2)
        var g = CellGrid(width: 20, height: 4)
        let area = try XCTUnwrap(r.draw(.heatmap, of: InspectorImage(anomalyMap: map), into: &g, rect: g.bounds, ascii: false, background: .terminalDefault))
        XCTAssertEqual(area, Rect(x: 6, y: 0, width: 8, height: 4))
        XCTAssertEqual(g[7, 0].style.fg, .rgb(RGB(255, 255, 255)))
        XCTAssertEqual(g[5, 0].character, " ")
    }

    func testAsciiRampForAGradient() throws {
        let map = ScalarMap(width: 10, height: 2, values: (0..<20).map { Float($0 % 10) / 9 })
        let r = HeatmapRenderer(colormap: grey, range: 0...1, threshold: 2)
        var g = CellGrid(width: 10, height: 1)
        r.draw(.heatmap, of: InspectorImage(anomalyMap: map), into: &g, rect: g.bounds, ascii: true, background: .terminalDefault)
        XCTAssertEqual(g.plainText(), [" .:-=+*#%@"])
    }

    func testLegendShowsRangeAndThresholdMarker() {
        var r = HeatmapRenderer(colormap: grey, range: 0...1, threshold: 0.5)
        var g = CellGrid(width: 15, height: 1)
        r.drawLegend(into: &g, rect: g.bounds, ascii: true, labelStyle: .plain, markerColor: .rgb(RGB(255, 215, 0)))
        XCTAssertEqual(g.plainText(), ["0  .:-=┃*#%@@ 1"])
        XCTAssertEqual(g[7, 0].style.fg, .rgb(RGB(255, 215, 0)))
        r.threshold = 1
        r.drawLegend(into: &g, rect: g.bounds, ascii: false, labelStyle: .plain, markerColor: .terminalDefault)
        XCTAssertEqual(g[2, 0].style.bg, .rgb(RGB(0, 0, 0)))
        XCTAssertEqual(g[12, 0].character, "┃")
    }
}

final class NumberFormatTests: XCTestCase {
    func testShortNumbers() {
        XCTAssertEqual(NumberFormat.short(1), "1")
        XCTAssertEqual(NumberFormat.short(0.5123), "0.512")
        XCTAssertEqual(NumberFormat.short(12.34), "12.3")
        XCTAssertEqual(NumberFormat.short(1234), "1234")
        XCTAssertEqual(NumberFormat.short(0.00012), "0.00012")
        XCTAssertEqual(NumberFormat.short(250000), "2.5e+05")
        XCTAssertEqual(NumberFormat.duration(3725), "1:02:05")
        XCTAssertEqual(NumberFormat.duration(65), "1:05")
    }
}
