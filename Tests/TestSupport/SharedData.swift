import Foundation
import XCTest

/// ../shared beside the repository (datasets, reference tensors, read-only). Tests that need it skip
/// cleanly where it is absent (a fresh clone in CI); it is never copied into the repository.
public enum SharedData {
    /// Tests/TestSupport/SharedData.swift -> the repository is three folders up, shared sits beside it.
    public static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared")

    /// root/parts..., or an XCTSkip naming the path that is missing. In CI (CI=true), where the shared
    /// folder is always present, a missing path fails the test instead: parity that silently stopped
    /// running must not leave the run green.
    public static func require(_ parts: String...) throws -> URL {
        let url = parts.reduce(root) { $0.appendingPathComponent($1) }
        guard FileManager.default.fileExists(atPath: url.path) else {
            let why = "\(url.path) is absent: this check needs the shared folder beside the repository"
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw Missing(description: "CI=true and " + why) }
            throw XCTSkip(why)
        }
        return url
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }
}
