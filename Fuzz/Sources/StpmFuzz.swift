import Foundation
import Console
import Detection
import ImageIO
import Numerics

// libFuzzer targets for the readers of untrusted files. One binary, the target named by the first
// argument: `stpm-fuzz png [libFuzzer options] CORPUS...`. Built by `make fuzz` with
// `-sanitize=fuzzer,address -DFUZZING`; in a plain build the same binary replays files through a
// target (`stpm-fuzz png crash-123`) to reproduce a finding without the sanitizers.

/// What each target does with one input; every error is an expected answer, only crashes, leaks,
/// sanitizer reports and timeouts are findings.
enum Target: String, CaseIterable {
    case png, jpeg, tiff, bmp, safetensors, config, theme

    func run(_ bytes: UnsafeBufferPointer<UInt8>) {
        switch self {
        case .png, .jpeg, .tiff, .bmp:
            // One reader dispatches on the first bytes; each format's target starts from its own seeds.
            let array = Array(bytes)
            _ = try? ImageReader.decode(array, path: "input", as: .rgb)
            _ = try? ImageReader.decode(array, path: "input", as: .gray)
            // PNGs PNGDirect (igzip) decodes directly must be ones libpng decodes to the same bytes.
            if ImageReader.format(of: array) == .png, let image = try? ImageReader.decode(array, path: "input", as: .rgb) {
                precondition((try? PNGFile.decodeWithLibpng(array, path: "input").toRGB()) == image, "PNGDirect differs from libpng")
            }
        case .safetensors:
            let path = Scratch.write(bytes, name: "input.safetensors")
            guard let file = try? SafetensorsFile(path: path) else { return }
            for name in file.names { _ = try? file.floats(name) }
        case .config:
            _ = try? ModelConfig.checked(Data(buffer: bytes), file: "config.json")
        case .theme:
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? ThemeParser.theme(text, name: "fuzz", file: "fuzz.theme")
            _ = try? ThemeParser.colormaps(text, file: "colormaps.conf")
        }
    }
}

/// The safetensors reader maps a path; each input goes to one file per process in a private folder.
enum Scratch {
    nonisolated(unsafe) static var folder: String = {
        let dir = NSTemporaryDirectory() + "stpm-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Scratch.folder) }
        return dir
    }()

    static func write(_ bytes: UnsafeBufferPointer<UInt8>, name: String) -> String {
        let path = folder + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if fd >= 0, let base = bytes.baseAddress {
            var offset = 0
            while offset < bytes.count {
                let n = Foundation.write(fd, base + offset, bytes.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
        close(fd)
        return path
    }
}

nonisolated(unsafe) var selected = Target.png

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    selected.run(UnsafeBufferPointer(start: data, count: count))
    return 0
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif

@main
struct StpmFuzz {
    static func main() {
        let args = CommandLine.arguments
        guard args.count >= 2, let target = Target(rawValue: args[1]) else {
            FileHandle.standardError.write(Data("usage: stpm-fuzz \(Target.allCases.map(\.rawValue).joined(separator: "|")) [options] [corpus or files]\n".utf8))
            exit(2)
        }
        selected = target
        // Images up to 4 megapixels: the limit check itself is under test, and decoding legal 100-megapixel
        // images would slow the search a thousandfold without reaching new code.
        setenv(ImageLimits.environmentVariable, "4000000", 0)
        #if FUZZING
        // libFuzzer sees the command line without the target name.
        var argv: [UnsafeMutablePointer<CChar>?] = ([args[0]] + args.dropFirst(2)).map { strdup($0) } + [nil]
        var argc = CInt(args.count - 1)
        let status = argv.withUnsafeMutableBufferPointer { buffer -> CInt in
            var pointer = buffer.baseAddress!
            return LLVMFuzzerRunDriver(&argc, &pointer) { fuzzOneInput($0, $1) }
        }
        exit(status)
        #else
        for file in args.dropFirst(2) {
            guard let data = FileManager.default.contents(atPath: file) else { print("cannot read \(file)"); continue }
            data.withUnsafeBytes { target.run($0.bindMemory(to: UInt8.self)) }
            print("ok \(file)")
        }
        #endif
    }
}
