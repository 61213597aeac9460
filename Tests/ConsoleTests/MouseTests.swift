import XCTest
@testable import Console

final class MouseTests: XCTestCase {
    /// 120x40: dataset x 0..<36, inspector x 36..<82 and threshold x 82..<120 in rows 0..<21.
    func state() -> ConsoleState {
        var s = ConsoleState()
        s.groups = [DatasetGroup(split: "test", name: "good", count: 2), DatasetGroup(split: "test", name: "crack", count: 2)]
        s.rows = [ImageRow(id: 1, name: "test/good/000.png", score: 0.2, label: .normal),
                  ImageRow(id: 2, name: "test/good/001.png", score: 0.4, label: .normal),
                  ImageRow(id: 3, name: "test/crack/000.png", score: 0.6, label: .defective),
                  ImageRow(id: 4, name: "test/crack/001.png", score: 1.0, label: .defective)]
        s.scope = "test/"
        s.sort = .name
        (s.screenWidth, s.screenHeight) = (120, 40)
        return s
    }

    func testClickInTheListSelectsAndOpensThatImage() {
        var s = state()
        // Content starts at row 1: three tree lines, the list header, then rows from y = 5.
        let command = s.handle(.mouse(MouseEvent(.press, x: 5, y: 7)))
        XCTAssertEqual(s.selectedRow?.name, "test/good/000.png")
        XCTAssertEqual(command, .inspect(imageID: 1))
        XCTAssertEqual(s.focus, .dataset)
        XCTAssertNil(s.handle(.mouse(MouseEvent(.press, x: 5, y: 30))), "below the last row")
    }

    func testPressFocusesThePaneAndTheWheelMovesTheList() {
        var s = state()
        _ = s.handle(.mouse(MouseEvent(.press, x: 50, y: 30)))
        XCTAssertEqual(s.focus, .training)
        _ = s.handle(.mouse(MouseEvent(.wheelDown, x: 5, y: 10)))
        _ = s.handle(.mouse(MouseEvent(.wheelDown, x: 5, y: 10)))
        XCTAssertEqual(s.selected, 2)
        _ = s.handle(.mouse(MouseEvent(.wheelUp, x: 50, y: 5)))
        XCTAssertEqual(s.selected, 1, "over the inspector too")
        _ = s.handle(.mouse(MouseEvent(.wheelUp, x: 100, y: 5)))
        XCTAssertEqual(s.selected, 1, "not over the threshold pane")
    }

    /// The histogram spans the scores 0.2...1.0 over the threshold pane's 36 content columns (x 83..<119).
    func testPressAndDragInTheHistogramMoveTheThreshold() throws {
        var s = state()
        _ = s.handle(.mouse(MouseEvent(.press, x: 83, y: 18)))
        XCTAssertEqual(s.focus, .threshold)
        XCTAssertEqual(s.threshold, 0.2 + 0.5 / 36 * 0.8, accuracy: 1e-12)
        _ = s.handle(.mouse(MouseEvent(.drag, x: 118, y: 18)))
        XCTAssertEqual(s.threshold, 0.2 + 35.5 / 36 * 0.8, accuracy: 1e-12)
        let before = s.threshold
        _ = s.handle(.mouse(MouseEvent(.press, x: 100, y: 1)))
        XCTAssertEqual(s.threshold, before, "the summary lines above the histogram are not a scale")
    }

    func testWheelScalesAZoomedImageAndOverlaysIgnoreTheMouse() {
        var s = state()
        s.zoom = Zoom()
        _ = s.handle(.mouse(MouseEvent(.wheelUp, x: 60, y: 20)))
        XCTAssertEqual(s.zoom?.scale, 1.5)
        s.zoom = nil
        s.overlay = .help
        _ = s.handle(.mouse(MouseEvent(.press, x: 5, y: 7)))
        XCTAssertEqual(s.selected, 0)
        XCTAssertEqual(s.overlay, .help)
    }
}
