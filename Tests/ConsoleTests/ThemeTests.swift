import XCTest
@testable import Console
import TestSupport

final class ThemeTests: XCTestCase {
    private let repoThemes = ThemeLibrary(directories: [
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Themes").path,
    ])

    func testParsesColoursDefaultsAndComments() throws {
        let text = """
        # comment
        main_bg = ""
        main_fg = "#102030"   # trailing comment
        title=#ABCDEF
        """
        let t = try ThemeParser.theme(text, name: "x", file: "x.theme")
        XCTAssertEqual(t[.mainBg], .terminalDefault)
        XCTAssertEqual(t[.mainFg], .rgb(RGB(0x10, 0x20, 0x30)))
        XCTAssertEqual(t[.title], .rgb(RGB(0xab, 0xcd, 0xef)))
        XCTAssertEqual(t[.defect], Theme.builtin[.defect], "missing keys fall back to the default")
    }

    func testBadColourNamesFileAndLine() {
        let text = "main_fg = \"#102030\"\n\n# note\ntitle = \"#12345\"\n"
        XCTAssertThrowsError(try ThemeParser.theme(text, name: "bad", file: "bad.theme")) { e in
            let err = e as! ThemeError
            XCTAssertEqual(err.line, 4)
            XCTAssertEqual(err.description, "bad.theme:4: bad colour \"#12345\" for title (want \"#RRGGBB\" or \"\")")
        }
    }

    func testUnknownKeyAndSyntaxErrorsAreReported() {
        let cases: [(String, Int, String)] = [
            ("main_fg = \"#000000\"\nmian_bg = \"\"", 2, "unknown key \"mian_bg\""),
            ("title \"#ffffff\"", 1, "expected key"),
            ("title = \"#ffffff", 1, "unterminated quote"),
            ("title = \"#ffffff\" extra", 1, "unexpected text"),
            ("title = \"\"\ntitle = \"\"", 2, "duplicate key"),
        ]
        for (text, line, fragment) in cases {
            XCTAssertThrowsError(try ThemeParser.theme(text, name: "t", file: "t.theme")) { e in
                let err = e as! ThemeError
                XCTAssertEqual(err.line, line, text)
                XCTAssertTrue(err.message.contains(fragment), "\(err) lacks \(fragment)")
            }
        }
    }

    func testBrokenThemeFileFallsBackToDefaultWithError() throws {
        let temporary = try TemporaryDirectory("stpm-theme")
        let dir = temporary.url
        try "hi_fg = \"#00ff00\"\nhi_fg2 = \"#00ff00\"\n".write(to: dir.appendingPathComponent("broken.theme"), atomically: true, encoding: .utf8)
        let lib = ThemeLibrary(directories: [dir.path])
        let (theme, error) = lib.themeOrDefault("broken")
        XCTAssertEqual(theme, Theme.builtin)
        XCTAssertEqual(error?.file, dir.appendingPathComponent("broken.theme").path)
        XCTAssertEqual(error?.line, 2)
        let missing = lib.themeOrDefault("/nonexistent/x.theme")
        XCTAssertEqual(missing.theme, Theme.builtin)
        XCTAssertEqual(missing.error?.description, "/nonexistent/x.theme: cannot read file")
    }

    func testShippedThemesParseAndDefaultMatchesBuiltin() throws {
        XCTAssertEqual(repoThemes.themeNames(), ["default", "high-contrast", "light"])
        XCTAssertEqual(try repoThemes.loadTheme("default"), Theme.builtin)
        for name in ["light", "high-contrast"] {
            let t = try repoThemes.loadTheme(name)
            XCTAssertNotEqual(t[.mainBg], .terminalDefault, "\(name) sets its own background")
        }
        let byPath = try repoThemes.loadTheme(repoThemes.directories[0] + "/light.theme")
        XCTAssertEqual(byPath.name, "light")
    }

    func testShippedColormaps() throws {
        let (maps, error) = repoThemes.colormaps()
        XCTAssertNil(error)
        XCTAssertEqual(maps.map(\.name), ["jet", "viridis", "inferno"])
        XCTAssertEqual(maps[0], Colormap.builtinJet)
        XCTAssertEqual(maps[1].color(at: 0), RGB(0x44, 0x01, 0x54))
        XCTAssertEqual(maps[1].color(at: 1), RGB(0xfd, 0xe7, 0x25))
        XCTAssertEqual(maps[2].color(at: 0.5), RGB(0xbc, 0x37, 0x54))
    }

    func testColormapInterpolatesAndClamps() {
        let m = Colormap(name: "g", stops: [RGB(0, 0, 0), RGB(200, 100, 0)])
        XCTAssertEqual(m.color(at: 0.5), RGB(100, 50, 0))
        XCTAssertEqual(m.color(at: -3), RGB(0, 0, 0))
        XCTAssertEqual(m.color(at: 9), RGB(200, 100, 0))
        XCTAssertEqual(m.color(at: .nan), RGB(0, 0, 0))
        XCTAssertEqual(Colormap.builtinJet.color(at: 0.875), RGB(255, 0, 0))
    }

    func testBadColormapStop() {
        XCTAssertThrowsError(try ThemeParser.colormaps("a = \"#000000 #ffffff\"\nb = \"#000000 red\"", file: "colormaps.conf")) { e in
            XCTAssertEqual((e as! ThemeError).description, "colormaps.conf:2: bad colour \"red\" in colormap \"b\" (want #RRGGBB)")
        }
    }
}
