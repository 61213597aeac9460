import XCTest

/// Where ../shared/reference lies relative to this checkout; tests skip cleanly when it is absent.
enum ReferenceFiles {
    static let shared: String = {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared").path
    }()
    static var root: String { shared + "/reference" }

    static func requireShared() throws {
        guard FileManager.default.fileExists(atPath: root) else {
            throw XCTSkip("\(root) is absent: reference parity checks need the shared reference folder")
        }
    }
}
