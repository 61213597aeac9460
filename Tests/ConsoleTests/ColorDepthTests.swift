import XCTest
@testable import Console

final class ColorDepthTests: XCTestCase {
    func testDetectFromCursesColours() {
        let env = ["TERM": "xterm-256color", "COLORTERM": "truecolor"]
        XCTAssertEqual(ColorDepth.detect(environment: env, cursesColors: 16_777_216), .direct)
        XCTAssertEqual(ColorDepth.detect(environment: env, cursesColors: 256), .xterm256, "ncurses decides what it can emit")
        XCTAssertEqual(ColorDepth.detect(environment: env, cursesColors: 16), .ansi16)
        XCTAssertEqual(ColorDepth.detect(environment: env, cursesColors: 8), .ansi8)
        XCTAssertEqual(ColorDepth.detect(environment: env, cursesColors: 0), .monochrome)
    }

    func testDetectFromEnvironmentWithoutCurses() {
        func d(_ env: [String: String]) -> ColorDepth { ColorDepth.detect(environment: env, cursesColors: nil) }
        XCTAssertEqual(d(["TERM": "xterm-256color", "COLORTERM": "truecolor"]), .direct)
        XCTAssertEqual(d(["TERM": "xterm", "COLORTERM": "24bit"]), .direct)
        XCTAssertEqual(d(["TERM": "xterm-direct"]), .direct)
        XCTAssertEqual(d(["TERM": "screen-256color"]), .xterm256)
        XCTAssertEqual(d(["TERM": "linux"]), .ansi16)
        XCTAssertEqual(d(["TERM": "dumb"]), .monochrome)
        XCTAssertEqual(d([:]), .monochrome)
    }

    func testDirectUpgradeOnlyForXtermClaimingTruecolor() {
        XCTAssertTrue(ColorDepth.wantsDirectUpgrade(environment: ["TERM": "xterm-256color", "COLORTERM": "truecolor"]))
        XCTAssertFalse(ColorDepth.wantsDirectUpgrade(environment: ["TERM": "xterm-256color"]))
        XCTAssertFalse(ColorDepth.wantsDirectUpgrade(environment: ["TERM": "tmux-256color", "COLORTERM": "truecolor"]))
        XCTAssertFalse(ColorDepth.wantsDirectUpgrade(environment: ["TERM": "xterm-direct", "COLORTERM": "truecolor"]))
    }

    func testQuantize256() {
        func q(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> TerminalColor { ColorDepth.xterm256.quantize(.rgb(RGB(r, g, b))) }
        XCTAssertEqual(q(255, 0, 0), .index(196))
        XCTAssertEqual(q(0, 0, 0), .index(16))
        XCTAssertEqual(q(255, 255, 255), .index(231))
        XCTAssertEqual(q(0x5f, 0x87, 0xaf), .index(67), "exact cube colours map to themselves")
        XCTAssertEqual(q(128, 128, 128), .index(244), "mid grey is closer to the ramp (128) than the cube (135)")
        XCTAssertEqual(q(0x12, 0x12, 0x12), .index(233))
        XCTAssertEqual(q(100, 100, 100), .index(241), "ramp 98 beats cube 95")
        XCTAssertEqual(ColorDepth.xterm256.quantize(.terminalDefault), .terminalDefault)
    }

    func testEveryPaletteEntryRoundTrips() {
        for i in 16..<256 {
            XCTAssertEqual(Palette.xterm256Index(Palette.rgb(ofIndex: i)), i)
        }
    }

    func testQuantize16And8AndNone() {
        XCTAssertEqual(ColorDepth.ansi16.quantize(.rgb(RGB(250, 10, 10))), .index(9))
        XCTAssertEqual(ColorDepth.ansi8.quantize(.rgb(RGB(250, 10, 10))), .index(1))
        XCTAssertEqual(ColorDepth.ansi16.quantize(.rgb(RGB(90, 90, 240))), .index(12))
        XCTAssertEqual(ColorDepth.direct.quantize(.rgb(RGB(1, 2, 3))), .rgb(RGB(1, 2, 3)))
        XCTAssertEqual(ColorDepth.monochrome.quantize(.rgb(RGB(255, 0, 0))), .terminalDefault)
    }
}
