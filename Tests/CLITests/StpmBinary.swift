import Foundation
import XCTest
import ImageIO

/// The stpm binary built beside this test bundle (`swift build --build-tests` builds both), run as a
/// user would: arguments, environment, exit status and what it prints.
enum StpmBinary {
    static var path: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = (exe as NSString).deletingLastPathComponent
        // On Linux the test runner is stpmPackageTests.xctest inside the build folder; elsewhere a bundle.
        while !dir.isEmpty && dir != "/" && !FileManager.default.isExecutableFile(atPath: dir + "/stpm") {
            dir = (dir as NSString).deletingLastPathComponent
        }
        return dir + "/stpm"
    }

    struct Outcome {
        var status: Int32
        /// Killed by a signal (a crash) rather than exiting.
        var signalled: Bool
        var timedOut: Bool
        var output: String
    }

    /// Runs stpm with `arguments`; stdin is /dev/null unless `stdin` is given. Output is stdout and stderr together.
    static func run(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:],
                    timeout: TimeInterval = 300) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["TERM"] = "xterm-256color"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let outFile = NSTemporaryDirectory() + "stpm-cli-\(UUID().uuidString).out"
        FileManager.default.createFile(atPath: outFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outFile) }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outFile))
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline { timedOut = true; process.terminate(); break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        process.waitUntilExit()
        try out.close()
        let data = FileManager.default.contents(atPath: outFile) ?? Data()
        return Outcome(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
                       timedOut: timedOut, output: String(decoding: data, as: UTF8.self))
    }
}

/// A tiny MVTec-layout dataset (smooth stripes; defects are bright squares with exact masks).
enum TinyDataset {
    static let side = 48

    static func texture(_ seed: Int, defect: Bool = false) -> Image8 {
        var px = [UInt8](repeating: 0, count: side * side * 3)
        for y in 0..<side {
            for x in 0..<side {
                var v = 110 + Int(40 * sin(Double(x + 3 * seed) / 3)) + ((x * 7 + y * 13 + seed * 31) % 11)
                if defect && (18..<28).contains(x) && (18..<28).contains(y) { v = 250 }
                for c in 0..<3 { px[(y * side + x) * 3 + c] = UInt8(clamping: v + 10 * c) }
            }
        }
        return Image8(width: side, height: side, channels: 3, pixels: px)
    }

    static func mask(background: UInt8 = 0, defect: UInt8 = 255, width: Int = side, height: Int = side) -> Image8 {
        var px = [UInt8](repeating: background, count: width * height)
        for y in 18..<min(28, height) { for x in 18..<min(28, width) { px[y * width + x] = defect } }
        return Image8(width: width, height: height, channels: 1, pixels: px)
    }

    /// 6 train/good, 2 test/good, 2 test/spot with masks.
    static func write(to root: String) throws {
        let fm = FileManager.default
        for folder in ["train/good", "test/good", "test/spot", "ground_truth/spot"] {
            try fm.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
        }
        for i in 0..<6 { try PNGFile.write(texture(i), path: root + "/train/good/\(i).png") }
        for i in 0..<2 {
            try PNGFile.write(texture(10 + i), path: root + "/test/good/\(i).png")
            try PNGFile.write(texture(20 + i, defect: true), path: root + "/test/spot/\(i).png")
            try PNGFile.write(mask(), path: root + "/ground_truth/spot/\(i)_mask.png")
        }
    }
}
