// swift-tools-version:6.0
import PackageDescription

// -Ounchecked drops bounds and overflow checks in the inner loops of the numerics; release builds only.
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release))]
// The numerics are optimised in debug builds too (with their checks), for the tests and end-to-end checks
// that run the debug binary: unoptimised, the Winograd transforms' SIMD loops made
// `stpm bench --size 128 --backbones resnet18` take 58 s (23 s with im2col); optimised, 5 s.
let numerics = fast + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "stpm",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "stpm", targets: ["stpm"]),
        // libFuzzer targets for the file readers: `make fuzz` (see Fuzz/run).
        .executable(name: "stpm-fuzz", targets: ["StpmFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // SHA-256 of weight files, students and checkpoints.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CISAL", path: "Sources/CISAL", providers: [.apt(["libisal-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CTIFF", path: "Sources/CTIFF", providers: [.apt(["libtiff-dev"])]),
        .systemLibrary(name: "CNCursesW", path: "Sources/CNCursesW", providers: [.apt(["libncursesw5-dev"])]),
        .systemLibrary(name: "CSixel", path: "Sources/CSixel", providers: [.apt(["libsixel-dev"])]),
        // The atomic file writer every output of the product goes through; depends on nothing.
        .target(name: "FileOutput"),
        // Hand-written C kernels for what OpenBLAS's Haswell kernels leave on the table: AVX-512 paths
        // chosen at run time (cpu_features.c), the portable Swift/OpenBLAS path otherwise.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "Numerics", dependencies: ["COpenBLAS", "CKernels", "FileOutput", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: numerics),
        .target(name: "ImageIO", dependencies: ["CPNG", "CISAL", "CJPEG", "CTIFF", "CKernels", "FileOutput", "Numerics"], swiftSettings: fast),
        .target(name: "Backbones", dependencies: ["Numerics"], swiftSettings: fast),
        .target(name: "Detection", dependencies: ["CKernels", "FileOutput", "Numerics", "ImageIO", "Backbones", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: fast),
        .target(name: "Console", dependencies: ["CNCursesW", "CSixel", "Detection", "ImageIO", "Backbones"], swiftSettings: fast),
        .executableTarget(name: "stpm", dependencies: [
            "Detection", "Console", "Backbones", "Numerics", "ImageIO", "FileOutput",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: fast),
        .executableTarget(name: "StpmFuzz", dependencies: ["Console", "Detection", "ImageIO", "Numerics"], path: "Fuzz/Sources"),
        // What every test target shares (as swift-argument-parser's ArgumentParserTestHelpers): the
        // ../shared locator, closeness checks, temporary directories.
        .target(name: "TestSupport", dependencies: ["Numerics"], path: "Tests/TestSupport"),
        .testTarget(name: "FileOutputTests", dependencies: ["FileOutput", "TestSupport"]),
        .testTarget(name: "NumericsTests", dependencies: ["Numerics", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "Numerics", "TestSupport"]),
        .testTarget(name: "BackbonesTests", dependencies: ["Backbones", "Numerics", "ImageIO", "TestSupport"]),
        .testTarget(name: "DetectionTests", dependencies: ["Detection", "Console", "TestSupport"]),
        .testTarget(name: "ConsoleTests", dependencies: ["Console", "TestSupport"]),
        // Runs the built stpm binary on bad inputs; needs `swift build` to have built the stpm product.
        .testTarget(name: "CLITests", dependencies: ["ImageIO", "Numerics", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
    ],
    swiftLanguageModes: [.v5]
)
