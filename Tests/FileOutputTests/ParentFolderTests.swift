import XCTest
@testable import FileOutput

final class ParentFolderTests: XCTestCase {
    func testFolderPartOfPaths() {
        XCTAssertEqual(parentFolder(of: "D"), ".")
        XCTAssertEqual(parentFolder(of: "metrics.json"), ".")
        XCTAssertEqual(parentFolder(of: "a/b.png"), "a")
        XCTAssertEqual(parentFolder(of: "a//b/"), "a")
        XCTAssertEqual(parentFolder(of: "/x"), "/")
        XCTAssertEqual(parentFolder(of: "/"), "/")
        XCTAssertEqual(parentFolder(of: "/m/caf\u{E9}/x.png"), "/m/caf\u{E9}")
    }

    /// A one-character name from argv is what made Foundation's deletingLastPathComponent trap.
    func testOneCharacterArgumentFromTheCommandLine() {
        let name = String(CommandLine.arguments[0].utf8.suffix(1).map { Character(UnicodeScalar($0)) })
        XCTAssertEqual(parentFolder(of: name), ".")
    }
}
