import Foundation
import XCTest
@testable import Console

final class GraphicsDetectionTests: XCTestCase {
    func decide(_ env: [String: String], choice: GraphicsProtocol? = nil) throws -> GraphicsProtocol? {
        if case .decided(let p, _) = try GraphicsDetection.fromEnvironment(choice: choice, environment: env) { return p }
        return nil
    }

    func testOptionThenVariableThenTmuxThenTerminalName() throws {
        XCTAssertEqual(try decide(["TERM": "xterm-kitty", "STPM_GRAPHICS": "sixel"], choice: .ascii), .ascii)
        XCTAssertEqual(try decide(["TERM": "xterm-kitty", "STPM_GRAPHICS": "Sixel"]), .sixel)
        XCTAssertEqual(try decide(["TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"]), .blocks, "tmux: half blocks by default")
        XCTAssertEqual(try decide(["TERM": "tmux-256color", "TMUX": "/tmp/x", "STPM_GRAPHICS": "kitty"]), .kitty, "tmux: opted in")
        XCTAssertEqual(try decide(["TERM": "xterm-kitty"]), .kitty)
        XCTAssertEqual(try decide(["TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"]), .kitty)
        XCTAssertEqual(try decide(["TERM": "xterm-ghostty"]), .kitty)
        XCTAssertEqual(try decide(["TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"]), .iterm)
        XCTAssertEqual(try decide(["TERM": "xterm-256color", "TERM_PROGRAM": "iTerm.app"]), .iterm)
        XCTAssertEqual(try decide(["TERM": "xterm-256color", "TERM_PROGRAM": "vscode"]), .iterm)
        XCTAssertEqual(try decide(["TERM": "linux"]), .blocks)
        XCTAssertEqual(try GraphicsDetection.fromEnvironment(choice: nil, environment: ["TERM": "xterm-256color"]), .ask)
        XCTAssertThrowsError(try decide(["STPM_GRAPHICS": "png"])) {
            XCTAssertTrue("\($0)".contains("STPM_GRAPHICS=png"), "\($0)")
        }
    }

    func testRepliesXTVersionThenDA1() {
        let kitty = Array("\u{1B}P>|kitty(0.35.2)\u{1B}\\\u{1B}[6;20;10t\u{1B}[?62;c\u{1B}[0n".utf8)
        XCTAssertEqual(GraphicsDetection.fromReplies(kitty).0, .kitty)
        XCTAssertEqual(GraphicsDetection.cellSize(inReply: kitty), CellPixels(width: 10, height: 20))
        XCTAssertTrue(GraphicsDetection.isComplete(kitty))
        let xterm = Array("\u{1B}P>|XTerm(390)\u{1B}\\\u{1B}[?63;1;2;4;6;9;15;22c\u{1B}[0n".utf8)
        XCTAssertEqual(GraphicsDetection.fromReplies(xterm).0, .sixel, "DA1 attribute 4")
        XCTAssertEqual(GraphicsDetection.fromReplies(Array("\u{1B}P>|WezTerm 20240203\u{1B}\\".utf8)).0, .iterm)
        let plain = Array("\u{1B}[?62;1;6;22c".utf8)
        XCTAssertEqual(GraphicsDetection.fromReplies(plain).0, .blocks, "attribute 42 or 14 is not 4")
        XCTAssertFalse(GraphicsDetection.isComplete(plain))
        XCTAssertEqual(GraphicsDetection.fromReplies([]).0, .blocks)
        XCTAssertNil(GraphicsDetection.cellSize(inReply: Array("\u{1B}[6;0;0t".utf8)), "zero is no answer")
    }

    func testCellSizeFromWindowSizeOrNothing() {
        XCTAssertEqual(CellPixels.fromWindowSize(columns: 120, rows: 40, pixelWidth: 1200, pixelHeight: 800), CellPixels(width: 10, height: 20))
        XCTAssertNil(CellPixels.fromWindowSize(columns: 120, rows: 40, pixelWidth: 0, pixelHeight: 0))
        XCTAssertNil(CellPixels(width: 100_000, height: 20))
    }
}

final class GraphicsEncodingTests: XCTestCase {
    /// Noise, so PNG does not compress it below one kitty chunk.
    func noise(_ w: Int, _ h: Int) -> PixelImage {
        var state: UInt64 = 0x9E37_79B9
        return PixelImage(width: w, height: h, pixels: (0..<(w * h)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return RGB(UInt8(truncatingIfNeeded: state >> 33), UInt8(truncatingIfNeeded: state >> 41), UInt8(truncatingIfNeeded: state >> 49))
        })
    }

    func testKittyChunksDecodeToTheImage() throws {
        let image = noise(40, 30)
        let png = try TerminalImageSequences.png(image)
        let bytes = TerminalImageSequences.kitty(png: png, id: 7, cells: Rect(x: 3, y: 2, width: 4, height: 2))
        let commands = GraphicsDecoding.kittyCommands(bytes)
        XCTAssertGreaterThan(commands.count, 1, "\(png.count) bytes of PNG need several chunks")
        XCTAssertEqual(commands[0].keys["a"], "T")
        XCTAssertEqual(commands[0].keys["f"], "100")
        XCTAssertEqual(commands[0].keys["i"], "7")
        XCTAssertEqual(commands[0].keys["c"], "4")
        XCTAssertEqual(commands[0].keys["r"], "2")
        XCTAssertEqual(commands[0].keys["q"], "2", "no replies, which would arrive as keys")
        XCTAssertEqual(commands.map { $0.keys["m"] }, Array(repeating: "1", count: commands.count - 1) + ["0"])
        XCTAssertTrue(commands.allSatisfy { $0.payload.count <= 4096 && $0.payload.count % 4 == 0 })
        XCTAssertTrue(commands.dropFirst().allSatisfy { Set($0.keys.keys) == ["m", "q"] }, "later chunks carry only m and q")
        let data = try XCTUnwrap(Data(base64Encoded: Data(commands.flatMap(\.payload))))
        XCTAssertEqual(try GraphicsDecoding.decodePNG(Array(data)), image)
        XCTAssertEqual(GraphicsDecoding.kittyCommands(TerminalImageSequences.kittyDelete(id: 7)).first?.keys, ["a": "d", "d": "I", "i": "7", "q": "2"])
    }

    func testPositionedSavesMovesAndRestoresTheCursor() {
        XCTAssertEqual(TerminalImageSequences.positioned(Rect(x: 3, y: 2, width: 1, height: 1), [0x41]),
                       Array("\u{1B}7\u{1B}[3;4HA\u{1B}8".utf8))
    }

    func testITermCarriesThePNGSizedInCells() throws {
        let image = noise(12, 9)
        let bytes = TerminalImageSequences.iterm(png: try TerminalImageSequences.png(image), cells: Rect(x: 0, y: 0, width: 6, height: 3))
        let (arguments, file) = try XCTUnwrap(GraphicsDecoding.itermImage(bytes))
        XCTAssertEqual(arguments["inline"], "1")
        XCTAssertEqual(arguments["width"], "6")
        XCTAssertEqual(arguments["height"], "3")
        XCTAssertEqual(arguments["size"], String(file.count))
        XCTAssertEqual(try GraphicsDecoding.decodePNG(file), image)
    }

    /// 27 colours in blocks: the fitted palette keeps them apart, each within libsixel's 5-bit histogram
    /// precision (and sixel's percent steps).
    func testSixelPaletteIsFittedToTheImage() throws {
        let levels: [UInt8] = [0, 128, 255]
        let (w, h) = (30, 36)
        let pixels: [RGB] = (0..<(w * h)).map { (i: Int) -> RGB in
            let c = (i / w) * 9 / h * 3 + (i % w) * 3 / w
            return RGB(levels[c % 3], levels[c / 3 % 3], levels[c / 9])
        }
        let image = PixelImage(width: w, height: h, pixels: pixels)
        let decoded = try XCTUnwrap(GraphicsDecoding.decodeSixel(try TerminalImageSequences.sixel(image)))
        XCTAssertEqual(decoded.width, w)
        XCTAssertEqual(decoded.height, h)
        var worst = 0
        var pairs = Set<[UInt8]>()
        for (got, want) in zip(decoded.pixels, image.pixels) {
            let g: RGB = try XCTUnwrap(got, "every pixel is drawn")
            let dr = abs(Int(g.r) - Int(want.r)), dg = abs(Int(g.g) - Int(want.g)), db = abs(Int(g.b) - Int(want.b))
            worst = max(worst, dr, dg, db)
            pairs.insert([want.r, want.g, want.b, g.r, g.g, g.b])
        }
        XCTAssertLessThanOrEqual(worst, 8)
        XCTAssertEqual(pairs.count, 27, "one palette entry per colour")
    }

    func testTmuxPassthroughDoublesEscapes() {
        XCTAssertEqual(TerminalImageSequences.tmuxPassthrough([0x1B, 0x41, 0x1B]), Array("\u{1B}Ptmux;\u{1B}\u{1B}A\u{1B}\u{1B}\u{1B}\\".utf8))
    }
}

final class ImagePlacerTests: XCTestCase {
    // libsixel mis-encodes images of a few pixels (a 2x2 gets an empty first band); real ones are cells of pixels.
    let first = PlacedImage(image: PixelImage(width: 8, height: 16, pixels: [RGB](repeating: RGB(255, 0, 0), count: 128)), cells: Rect(x: 5, y: 3, width: 1, height: 1))
    let second = PlacedImage(image: PixelImage(width: 8, height: 16, pixels: [RGB](repeating: RGB(0, 0, 255), count: 128)), cells: Rect(x: 5, y: 3, width: 1, height: 1))

    func testKittyPlacesOnceReplacesThenDeletesTheOld() throws {
        var placer = ImagePlacer(graphics: .kitty, firstID: 10)
        let placed = try placer.update(first)
        XCTAssertEqual(GraphicsDecoding.kittyCommands(placed.bytes).first?.keys["i"], "10")
        XCTAssertEqual(try placer.update(first), PlacementUpdate(), "the same image is not sent again")
        let replaced = GraphicsDecoding.kittyCommands(try placer.update(second).bytes)
        XCTAssertEqual(replaced.first?.keys["i"], "11")
        XCTAssertEqual(replaced.last?.keys, ["a": "d", "d": "I", "i": "10", "q": "2"], "the old image goes after the new one is up")
        XCTAssertEqual(GraphicsDecoding.kittyCommands(placer.clear().bytes).last?.keys["i"], "11")
        XCTAssertEqual(placer.clear(), PlacementUpdate(), "nothing left to delete")
    }

    func testSixelRepaintsTheOldCellsBeforeTheNewImage() throws {
        var placer = ImagePlacer(graphics: .sixel)
        XCTAssertEqual(try placer.update(first).repaint, [])
        let update = try placer.update(second)
        XCTAssertEqual(update.repaint, [first.cells])
        XCTAssertEqual(GraphicsDecoding.decodeSixel(update.bytes)?.pixels.first??.b, 247, "blue, at 97 % (libsixel keeps 5 bits)")
        XCTAssertEqual(try placer.update(nil), PlacementUpdate(repaint: [second.cells]))
    }

    func testCellProtocolsSendNothing() throws {
        var placer = ImagePlacer(graphics: .blocks)
        XCTAssertEqual(try placer.update(first), PlacementUpdate())
    }

    func testThroughTmuxEveryImageSequenceIsWrapped() throws {
        var placer = ImagePlacer(graphics: .kitty, throughTmux: true)
        let bytes = try placer.update(first).bytes
        XCTAssertNotNil(GraphicsDecoding.find(Array("\u{1B}Ptmux;\u{1B}\u{1B}_G".utf8), in: bytes, from: 0))
    }
}

final class InspectorPlacementTests: XCTestCase {
    /// A 4x2 photograph in a 10x6-cell area of 8x16-pixel cells (80x96 px).
    func testImageIsFittedIntoWholeCellsCentredWithItsPixels() throws {
        var state = ConsoleState()
        let colors = [RGB(255, 0, 0), RGB(0, 255, 0), RGB(0, 0, 255), RGB(255, 255, 0), RGB(0, 255, 255), RGB(255, 0, 255), RGB(9, 9, 9), RGB(200, 100, 50)]
        state.inspected = InspectorImage(image: PixelImage(width: 4, height: 2, pixels: colors))
        state.inspectorView = .image
        let ctx = RenderContext(theme: .builtin, colormap: .builtinJet, pixelGraphics: true)
        let area = Rect(x: 20, y: 5, width: 10, height: 6)
        let cell = CellPixels(width: 8, height: 16)!
        let placed = try XCTUnwrap(InspectorPane.placedImage(state.inspected!, state, ctx, area: area, cell: cell, background: RGB(1, 2, 3)))
        // Scale min(80/4, 96/2) = 20: 80x40 px, i.e. 10x3 cells (48 px high, 4 rows of margin each side).
        XCTAssertEqual(placed.cells, Rect(x: 20, y: 6, width: 10, height: 3))
        XCTAssertEqual(placed.image.width, 80)
        XCTAssertEqual(placed.image.height, 48)
        XCTAssertEqual(placed.image[0, 0], RGB(1, 2, 3), "margin above")
        XCTAssertEqual(placed.image[0, 4], colors[0])
        XCTAssertEqual(placed.image[79, 4 + 39], colors[7])
        XCTAssertEqual(placed.image[30, 4 + 10], colors[1])
        XCTAssertEqual(placed.image[79, 47], RGB(1, 2, 3), "margin below")
        state.inspectorView = .heatmap
        XCTAssertNil(InspectorPane.placedImage(state.inspected!, state, ctx, area: area, cell: cell, background: RGB(1, 2, 3)), "no map, no heatmap")
    }

    func testPixelGraphicsLeaveTheImageAreaBlank() {
        var state = ConsoleState()
        state.inspected = InspectorImage(image: PixelImage(width: 4, height: 2, pixels: [RGB](repeating: RGB(255, 0, 0), count: 8)))
        state.inspectorView = .image
        let content = Rect(x: 0, y: 0, width: 20, height: 10)
        var cells = CellGrid(width: 20, height: 10, fill: Cell(" ", style: .plain)), pixels = cells
        InspectorPane().draw(state, RenderContext(theme: .builtin, colormap: .builtinJet), into: &cells, content: content)
        InspectorPane().draw(state, RenderContext(theme: .builtin, colormap: .builtinJet, pixelGraphics: true), into: &pixels, content: content)
        let area = InspectorPane.imageArea(content: content)
        func halfBlocks(_ g: CellGrid) -> Int {
            (area.y..<area.maxY).flatMap { y in (area.x..<area.maxX).map { g[$0, y].character } }.filter { $0 == "▀" }.count
        }
        XCTAssertGreaterThan(halfBlocks(cells), 0)
        XCTAssertEqual(halfBlocks(pixels), 0)
    }
}
