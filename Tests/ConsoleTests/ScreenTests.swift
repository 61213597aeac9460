import XCTest
import Foundation
@testable import Console

/// Runs `Screen` against a pseudo-terminal, so the ncurses path is checked without a real one.
final class ScreenTests: XCTestCase {
    private func withPTY(term: String, _ body: (Screen) throws -> Void) throws -> String {
        var master: Int32 = 0, slave: Int32 = 0
        var size = winsize(ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0)
        XCTAssertEqual(openpty(&master, &slave, nil, nil, &size), 0)
        defer { Foundation.close(master) }
        let out = try XCTUnwrap(fdopen(dup(slave), "w")), inp = try XCTUnwrap(fdopen(slave, "r"))
        defer { fclose(out); fclose(inp) }
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        let screen = try Screen(environment: ["TERM": term], output: out, input: inp, keyTimeoutMilliseconds: 10)
        try body(screen)
        screen.close()
        fflush(out)
        var bytes: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 65536)
        while case let n = read(master, &buffer, buffer.count), n > 0 { bytes += buffer[0..<n] }
        return String(decoding: bytes, as: UTF8.self)
    }

    func testHalfBlockGoesOutAsPaletteColoursIn256ColourTerminal() throws {
        let output = try withPTY(term: "xterm-256color") { screen in
            XCTAssertEqual(screen.depth, .xterm256)
            XCTAssertEqual(screen.size.width, 80)
            var grid = CellGrid(width: 80, height: 24)
            grid.set(3, 2, "▀", CellStyle(fg: .rgb(RGB(255, 0, 0)), bg: .rgb(RGB(0, 0, 255))))
            screen.draw(grid)
            XCTAssertNil(screen.readKey(), "no input: the read times out")
        }
        XCTAssertTrue(output.contains("▀"))
        XCTAssertTrue(output.contains("38;5;196"), "pure red quantised to 196")
        XCTAssertTrue(output.contains("48;5;21"), "pure blue quantised to 21")
    }

    func testTruecolorClaimUpgradesToDirectEntry() throws {
        var master: Int32 = 0, slave: Int32 = 0
        XCTAssertEqual(openpty(&master, &slave, nil, nil, nil), 0)
        defer { Foundation.close(master) }
        let out = try XCTUnwrap(fdopen(dup(slave), "w")), inp = try XCTUnwrap(fdopen(slave, "r"))
        defer { fclose(out); fclose(inp) }
        let screen = try Screen(environment: ["TERM": "xterm-256color", "COLORTERM": "truecolor"], output: out, input: inp)
        XCTAssertEqual(screen.depth, .direct)
        screen.close()
        let capped = try Screen(environment: ["TERM": "xterm-256color"], output: out, input: inp, maximumDepth: .monochrome)
        XCTAssertEqual(capped.depth, .monochrome, "--ascii caps the depth")
        capped.close()
    }

    func testUnknownTerminalIsAnErrorNotAnExit() {
        XCTAssertThrowsError(try withPTY(term: "no-such-terminal-xyz") { _ in }) { e in
            XCTAssertTrue("\(e)".contains("no-such-terminal-xyz"))
        }
    }
}
