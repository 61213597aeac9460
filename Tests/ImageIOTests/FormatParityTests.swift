import Foundation
import XCTest
@testable import ImageIO
import TestSupport

/// Every JPEG, TIFF and BMP that Tests/pillow/make_format_fixtures.py writes (baseline, progressive, every
/// chroma subsampling, gray, Adobe CMYK, restart markers, EXIF orientation; TIFF 8/16-bit gray/RGB(A),
/// none/LZW/Deflate/PackBits, strips/tiles/planes, both byte orders; BMP 1/4/8/24/32-bit, bottom-up and
/// top-down, core/v3/v4/v5 headers) reads byte for byte as Pillow reads it, as RGB and as gray.
/// Uses STPM_PILLOW_PYTHON (make test points it at a venv with pinned Pillow), else python3; skips without
/// Pillow locally and fails in CI (CI=true), where parity that silently stopped running must not stay green.
final class FormatParityTests: XCTestCase {
    private struct Fixture {
        var format: String
        var path: String
        var width: Int
        var height: Int
    }

    private static let generated: Result<(TemporaryDirectory, [Fixture]), Error> = Result {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("pillow/make_format_fixtures.py").path
        let python = ProcessInfo.processInfo.environment["STPM_PILLOW_PYTHON"] ?? "python3"
        guard run([python, "-c", "import PIL"]) == 0 else {
            let why = "\(python) with Pillow not found (make test sets one up; or pip install pillow)"
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw PillowMissing(description: "CI=true and " + why) }
            throw XCTSkip(why)
        }
        let dir = try TemporaryDirectory()
        guard run([python, script, dir.path]) == 0 else { throw PillowMissing(description: "generator failed: \(python) \(script) \(dir.path)") }
        let manifest = try String(contentsOfFile: dir.file("manifest.txt"), encoding: .utf8)
        let fixtures = manifest.split(separator: "\n").map { line -> Fixture in
            let f = line.split(separator: " ").map(String.init)
            return Fixture(format: f[0], path: dir.file(f[1]), width: Int(f[2])!, height: Int(f[3])!)
        }
        return (dir, fixtures)
    }

    private struct PillowMissing: Error, CustomStringConvertible {
        var description: String
    }

    private static func run(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func testJPEGMatchesPillow() throws { try compare("JPEG", atLeast: 200) }
    func testTIFFMatchesPillow() throws { try compare("TIFF", atLeast: 150) }
    func testBMPMatchesPillow() throws { try compare("BMP", atLeast: 150) }

    private func compare(_ format: String, atLeast: Int) throws {
        let fixtures = try Self.generated.get().1.filter { $0.format == format }
        XCTAssertGreaterThanOrEqual(fixtures.count, atLeast)
        var mismatched: [String] = []
        for fixture in fixtures {
            for (pixelFormat, suffix) in [(PixelFormat.rgb, ".rgb"), (.gray, ".l")] {
                let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture.path + suffix)))
                do {
                    let image = try ImageReader.read(path: fixture.path, as: pixelFormat)
                    if image.width != fixture.width || image.height != fixture.height || image.pixels != expected {
                        let differing = zip(image.pixels, expected).filter { $0 != $1 }.count
                        mismatched.append("\(fixture.path)\(suffix): \(image.width)x\(image.height), \(differing) bytes differ")
                    }
                } catch {
                    mismatched.append("\(error)")
                }
            }
        }
        print("\(format) parity with Pillow: \(fixtures.count) files, \(mismatched.count) mismatching reads")
        XCTAssertEqual(mismatched, [], "\(mismatched.count) of \(2 * fixtures.count) reads differ from Pillow")
    }
}
