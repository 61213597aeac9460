import XCTest
@testable import Console

final class ZoomTests: XCTestCase {
    func testWindowScalesPansAndStaysInsideTheImage() {
        var zoom = Zoom()
        XCTAssertTrue(zoom.window == (0, 0, 1))
        zoom.magnify(by: 2)
        XCTAssertTrue(zoom.window == (0.25, 0.25, 0.5))
        zoom.pan(x: 0.25, y: 0)
        XCTAssertTrue(zoom.window == (0.375, 0.25, 0.5))
        zoom.pan(x: 4, y: -4)
        XCTAssertTrue(zoom.window == (0.5, 0, 0.5), "clamped to the image's corner")
        zoom.pan(x: -0.25, y: 0)
        XCTAssertTrue(zoom.window == (0.375, 0, 0.5), "moves at once from the edge")
        zoom.magnify(by: 0.1)
        XCTAssertTrue(zoom.window == (0, 0, 1))
        zoom.focus(x: 0.9, y: 0.1)
        XCTAssertEqual(zoom.scale, 4)
        XCTAssertTrue(zoom.window == (0.75, 0, 0.25))
    }

    func testCropKeepsLayersOfDifferentSizesAligned() {
        let photo = PixelImage(width: 4, height: 4, pixels: (0..<16).map { RGB(UInt8($0), 0, 0) })
        let map = ScalarMap(width: 8, height: 8, values: (0..<64).map(Float.init))
        let crop = InspectorImage(image: photo, anomalyMap: map).cropped(to: (0.5, 0, 0.5))
        XCTAssertEqual(crop.image?.pixels.map(\.r), [2, 3, 6, 7])
        XCTAssertEqual(crop.anomalyMap?.width, 4)
        XCTAssertEqual(crop.anomalyMap?.values.prefix(4).map { Int($0) }, [4, 5, 6, 7])
        XCTAssertEqual(crop.anomalyMap?.values.last, 31)
    }

    func testPeakIsTheMapsMaximum() throws {
        var values = [Float](repeating: 0, count: 16)
        values[2 * 4 + 3] = 5
        let peak = try XCTUnwrap(InspectorImage(anomalyMap: ScalarMap(width: 4, height: 4, values: values)).peak)
        XCTAssertEqual(peak.x, 0.875)
        XCTAssertEqual(peak.y, 0.625)
        XCTAssertNil(InspectorImage(image: PixelImage(width: 1, height: 1, pixels: [RGB(0, 0, 0)])).peak)
    }

    func testZKeysArePanScaleAndPeakWhileZoomed() {
        var state = ConsoleState()
        _ = state.handle(.char("z"))
        XCTAssertNil(state.zoom, "nothing inspected yet")
        XCTAssertNotNil(state.status)
        var values = [Float](repeating: 0, count: 16)
        values[15] = 1
        state.inspected = InspectorImage(anomalyMap: ScalarMap(width: 4, height: 4, values: values))
        state.focus = .inspector
        _ = state.handle(.char("z"))
        XCTAssertEqual(state.zoom, Zoom())
        let threshold = state.threshold
        _ = state.handle(.char("+"))
        XCTAssertEqual(state.zoom?.scale, 1.5)
        XCTAssertEqual(state.threshold, threshold, "+ scales the zoom, not the threshold")
        _ = state.handle(.char("a"))
        XCTAssertTrue(state.zoom.map { $0.window == (0.75, 0.75, 0.25) } ?? false)
        _ = state.handle(.escape)
        XCTAssertNil(state.zoom)
    }

    func testZoomedViewFillsTheTerminalWithTheImage() {
        var state = ConsoleState()
        state.inspected = InspectorImage(image: PixelImage(width: 8, height: 8, pixels: [RGB](repeating: RGB(200, 10, 10), count: 64)))
        state.inspectorView = .image
        state.zoom = Zoom()
        let grid = ConsoleView().render(state, RenderContext(theme: .builtin, colormap: .builtinJet), width: 120, height: 40)
        let text = grid.plainText()
        XCTAssertTrue(text[0].contains("image · ×1"), text[0])
        XCTAssertTrue(text[0].contains("z back"))
        // 38 rows of two pixels: a 76x76 square, centred.
        XCTAssertEqual(text[1].filter { $0 == "▀" }.count, 76)
        XCTAssertEqual(text.dropFirst().filter { $0.contains("▀") }.count, 38)
        XCTAssertFalse(text.joined().contains("¹dataset"), "the panes give way")
    }
}
