import XCTest
@testable import Console

final class CellGridTests: XCTestCase {
    func testPutClipsAtRightEdgeAndClipRect() {
        var g = CellGrid(width: 6, height: 2)
        let end = g.put("abcdefgh", x: 2, y: 0, style: .plain)
        XCTAssertEqual(g.plainText(), ["  abcd", "      "])
        XCTAssertEqual(end, 6)
        g.put("xyz", x: -1, y: 1, style: .plain, clip: Rect(x: 0, y: 1, width: 2, height: 1))
        XCTAssertEqual(g.plainText()[1], "yz    ")
    }

    func testWideCharacterTakesTwoCellsAndIsNotSplit() {
        var g = CellGrid(width: 5, height: 1)
        g.put("a漢b", x: 0, y: 0, style: .plain)
        XCTAssertEqual(g[1, 0].character, "漢")
        XCTAssertTrue(g[2, 0].isWideTail)
        XCTAssertEqual(g[3, 0].character, "b")
        XCTAssertEqual(g.plainText(), ["a漢b "])
        var narrow = CellGrid(width: 2, height: 1)
        narrow.put("a漢", x: 0, y: 0, style: .plain)
        XCTAssertEqual(narrow.plainText(), ["a "], "a wide character that does not fit is dropped, not halved")
    }

    func testBoxDrawsFrameWithPaneDigitInTitle() {
        var g = CellGrid(width: 14, height: 3)
        let red = CellStyle(fg: .rgb(RGB(255, 0, 0)))
        g.box(g.bounds, title: "dataset", paneDigit: 1, border: .plain, titleStyle: .plain, digitStyle: red)
        XCTAssertEqual(g.plainText(), ["┌─¹dataset───┐", "│            │", "└────────────┘"])
        XCTAssertEqual(g[2, 0].style, red)
    }

    func testBoxTruncatesLongTitle() {
        var g = CellGrid(width: 10, height: 2)
        g.box(g.bounds, title: "threshold", paneDigit: 4, border: .plain, titleStyle: .plain)
        XCTAssertEqual(g.plainText()[0], "┌─⁴thre…─┐")
    }

    func testFillAndLines() {
        var g = CellGrid(width: 4, height: 3)
        let blue = CellStyle(bg: .rgb(RGB(0, 0, 255)))
        g.fill(Rect(x: 1, y: 1, width: 9, height: 9), "x", style: blue)
        g.horizontalLine(x: 0, y: 0, length: 4, style: .plain)
        g.verticalLine(x: 0, y: 0, length: 3, style: .plain, character: "┃")
        XCTAssertEqual(g.plainText(), ["┃───", "┃xxx", "┃xxx"])
        XCTAssertEqual(g[3, 2].style.bg, .rgb(RGB(0, 0, 255)))
    }

    func testTruncateUsesColumnsNotCharacters() {
        XCTAssertEqual(TextWidth.truncate("漢字漢字", to: 5), "漢字…")
        XCTAssertEqual(TextWidth.columns(of: "e\u{301}▀⣿"), 3)
    }
}
