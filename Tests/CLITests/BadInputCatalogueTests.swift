import Crypto
import Foundation
import XCTest
import ImageIO
import Numerics

/// Bad inputs a hostile-but-realistic user gives stpm, each with the exit status and the words it must
/// answer with, run against the real binary. Every run must also end by itself (no hang), exit rather
/// than crash, and keep its message short even when the bad input is huge.
final class BadInputCatalogueTests: XCTestCase {
    struct Case {
        var name: String
        var status: Int32
        var message: String
        /// Prepares the case's files in its own folder and returns the command line.
        var arguments: (_ dir: String, _ fixture: Fixture) throws -> [String]
    }

    struct Fixture {
        var data: String
        var model: String

        /// A copy of the trained model whose config.json is changed by `edit`.
        func model(in dir: String, edit: (inout [String: Any]) -> Void = { _ in }) throws -> String {
            let copy = dir + "/model"
            try FileManager.default.copyItem(atPath: model, toPath: copy)
            let file = copy + "/config.json"
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
            edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: file))
            return copy
        }

        /// A model copy whose student.safetensors is replaced by `bytes`, with config.json recording its
        /// sha256, so the reader (not the checksum) meets the damage.
        func model(in dir: String, student bytes: Data) throws -> String {
            let copy = try model(in: dir)
            try bytes.write(to: URL(fileURLWithPath: copy + "/student.safetensors"))
            let sha = try SHA256.hex(ofFile: copy + "/student.safetensors")
            let file = copy + "/config.json"
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
            json["studentSHA256"] = sha
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: file))
            return copy
        }

        var student: Data { FileManager.default.contents(atPath: model + "/student.safetensors")! }
    }

    static func safetensors(header: String, data: Data = Data()) -> Data {
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes + Data(header.utf8) + data
    }

    static func training(_ json: inout [String: Any], _ key: String, _ value: Any) {
        var t = json["training"] as! [String: Any]
        t[key] = value
        json["training"] = t
    }

    static let cases: [Case] = [
        // config.json: every field is checked before anything is allocated from it
        Case(name: "size 0", status: 1, message: "size must be a multiple of 16") { d, f in ["score", try f.model(in: d) { $0["size"] = 0 }, f.data + "/test/good"] },
        Case(name: "negative size", status: 1, message: "size must be a multiple of 16") { d, f in ["score", try f.model(in: d) { $0["size"] = -64 }, f.data + "/test/good"] },
        Case(name: "size 7", status: 1, message: "size must be a multiple of 16") { d, f in ["score", try f.model(in: d) { $0["size"] = 7 }, f.data + "/test/good"] },
        Case(name: "huge size", status: 1, message: "size must be a multiple of 16") { d, f in ["score", try f.model(in: d) { $0["size"] = 1 << 40 }, f.data + "/test/good"] },
        Case(name: "size differs from training.size", status: 1, message: "but training.size is 32") { d, f in ["score", try f.model(in: d) { $0["size"] = 48 }, f.data + "/test/good"] },
        Case(name: "unknown backbone", status: 1, message: "unknown backbone 'vgg16'") { d, f in ["score", try f.model(in: d) { $0["backbone"] = "vgg16" }, f.data + "/test/good"] },
        Case(name: "backbone of the wrong type", status: 1, message: "field backbone") { d, f in ["score", try f.model(in: d) { $0["backbone"] = 5 }, f.data + "/test/good"] },
        Case(name: "tap channels", status: 1, message: "tapChannels") { d, f in ["score", try f.model(in: d) { $0["tapChannels"] = [1, 2, 3] }, f.data + "/test/good"] },
        Case(name: "normalisation", status: 1, message: "normalization") { d, f in ["score", try f.model(in: d) { $0["normalization"] = "x / 0" }, f.data + "/test/good"] },
        Case(name: "threshold percentile out of range", status: 1, message: "threshold.percentile must be in 0...100") { d, f in
            ["score", try f.model(in: d) { $0["threshold"] = ["choice": ["method": "percentile", "percentile": 500], "value": 0.1] }, f.data + "/test/good"]
        },
        Case(name: "unknown threshold method", status: 1, message: "unknown threshold method") { d, f in
            ["score", try f.model(in: d) { $0["threshold"] = ["choice": ["method": "magic"], "value": 0.1] }, f.data + "/test/good"]
        },
        Case(name: "negative learning rate", status: 1, message: "training.learningRate must be a positive number") { d, f in
            ["score", try f.model(in: d) { training(&$0, "learningRate", -1) }, f.data + "/test/good"]
        },
        Case(name: "batch 0", status: 1, message: "training.batchSize must be from 1") { d, f in ["score", try f.model(in: d) { training(&$0, "batchSize", 0) }, f.data + "/test/good"] },
        Case(name: "epochs 0", status: 1, message: "training.epochs must be from 1") { d, f in ["score", try f.model(in: d) { training(&$0, "epochs", 0) }, f.data + "/test/good"] },
        Case(name: "best epoch beyond epochs", status: 1, message: "bestEpoch 99 is not between 1 and 1") { d, f in ["score", try f.model(in: d) { $0["bestEpoch"] = 99 }, f.data + "/test/good"] },
        Case(name: "format 2", status: 1, message: "this stpm reads format 1") { d, f in ["score", try f.model(in: d) { $0["format"] = 2 }, f.data + "/test/good"] },
        Case(name: "student sha256 not hex", status: 1, message: "studentSHA256 is not a sha256") { d, f in ["score", try f.model(in: d) { $0["studentSHA256"] = "zz" }, f.data + "/test/good"] },
        Case(name: "missing field", status: 1, message: "missing field 'trainImages'") { d, f in ["score", try f.model(in: d) { $0["trainImages"] = nil }, f.data + "/test/good"] },
        Case(name: "config not JSON", status: 1, message: "config.json is damaged: not valid JSON") { d, f in
            let m = try f.model(in: d)
            try Data("{\"size\": ".utf8).write(to: URL(fileURLWithPath: m + "/config.json"))
            return ["score", m, f.data + "/test/good"]
        },
        Case(name: "config empty", status: 1, message: "config.json is damaged") { d, f in
            let m = try f.model(in: d)
            try Data().write(to: URL(fileURLWithPath: m + "/config.json"))
            return ["eval", m, f.data]
        },
        Case(name: "config a folder", status: 1, message: "is not an stpm model directory") { d, f in
            let m = try f.model(in: d)
            try FileManager.default.removeItem(atPath: m + "/config.json")
            try FileManager.default.createDirectory(atPath: m + "/config.json", withIntermediateDirectories: false)
            return ["score", m, f.data + "/test/good"]
        },
        Case(name: "config of 2 MB", status: 1, message: "far more than a model configuration holds") { d, f in
            let m = try f.model(in: d)
            try Data(repeating: 32, count: 2 << 20).write(to: URL(fileURLWithPath: m + "/config.json"))
            return ["score", m, f.data + "/test/good"]
        },
        Case(name: "no model", status: 1, message: "is not an stpm model directory") { d, f in ["score", d + "/nothing", f.data + "/test/good"] },
        Case(name: "teacher weights changed", status: 1, message: "differs from the one this model was trained with") { d, f in
            ["score", try f.model(in: d) { $0["teacherWeightsSHA256"] = String(repeating: "0", count: 64) }, f.data + "/test/good"]
        },
        Case(name: "teacher weights with a flipped byte", status: 1, message: "flipped.safetensors is damaged: its sha256") { d, f in
            let pinned = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.model + "/config.json"))) as! [String: Any]
            var bytes = try Data(contentsOf: URL(fileURLWithPath: pinned["teacherWeights"] as! String))
            bytes[bytes.count / 2] ^= 0x01
            try bytes.write(to: URL(fileURLWithPath: d + "/flipped.safetensors"))
            return ["score", try f.model(in: d) { $0["teacherWeights"] = d + "/flipped.safetensors" }, f.data + "/test/good"]
        },
        Case(name: "teacher weights gone", status: 1, message: "does not exist") { d, f in ["score", try f.model(in: d) { $0["teacherWeights"] = d + "/gone.safetensors" }, f.data + "/test/good"] },

        // student.safetensors
        Case(name: "student with a flipped bit", status: 1, message: "does not match the sha256 recorded in config.json") { d, f in
            let m = try f.model(in: d)
            var bytes = f.student
            bytes[bytes.count - 3] ^= 0x10
            try bytes.write(to: URL(fileURLWithPath: m + "/student.safetensors"))
            return ["score", m, f.data + "/test/good"]
        },
        Case(name: "student missing", status: 1, message: "has no trained student yet") { d, f in
            let m = try f.model(in: d)
            try FileManager.default.removeItem(atPath: m + "/student.safetensors")
            return ["score", m, f.data + "/test/good"]
        },
        Case(name: "student with NaN weights", status: 1, message: "holds NaN or infinite values") { d, f in
            var bytes = f.student
            for i in stride(from: bytes.count - 4000, to: bytes.count, by: 4) { bytes.replaceSubrange(i..<(i + 4), with: [0, 0, 0xC0, 0x7F]) }
            return ["score", try f.model(in: d, student: bytes), f.data + "/test/good"]
        },
        Case(name: "student truncated", status: 1, message: "truncated safetensors file") { d, f in ["score", try f.model(in: d, student: f.student.prefix(6)), f.data + "/test/good"] },
        Case(name: "student header not JSON", status: 1, message: "invalid safetensors header") { d, f in
            ["score", try f.model(in: d, student: safetensors(header: "{\"a\": [1, 2")), f.data + "/test/good"]
        },
        Case(name: "student key of 5,000,000 characters", status: 1, message: "(5000000 characters)") { d, f in
            let key = String(repeating: "k", count: 5_000_000)
            return ["score", try f.model(in: d, student: safetensors(header: "{\"\(key)\": {\"dtype\": \"Q9\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
                                                                       data: Data(count: 4))), f.data + "/test/good"]
        },
        Case(name: "student from another backbone", status: 1, message: "is missing") { d, f in
            ["score", try f.model(in: d, student: safetensors(header: "{\"conv1.weight\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
                                                              data: Data(count: 4))), f.data + "/test/good"]
        },

        // images and folders given to score
        Case(name: "a PNG that is not one", status: 1, message: "bad.png") { d, f in
            try Data("GIF89a not a png".utf8).write(to: URL(fileURLWithPath: d + "/bad.png"))
            return ["score", f.model, d + "/bad.png"]
        },
        Case(name: "an empty PNG", status: 1, message: "empty.png") { d, f in
            FileManager.default.createFile(atPath: d + "/empty.png", contents: Data())
            return ["score", f.model, d + "/empty.png"]
        },
        Case(name: "a PNG cut in half", status: 1, message: "half.png") { d, f in
            let whole = try Data(contentsOf: URL(fileURLWithPath: f.data + "/test/good/0.png"))
            try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: d + "/half.png"))
            return ["score", f.model, d + "/half.png"]
        },
        Case(name: "a text file given as an image", status: 1, message: "notes.txt: not a PNG, JPEG, TIFF or BMP image") { d, f in
            FileManager.default.createFile(atPath: d + "/notes.txt", contents: Data("x".utf8))
            return ["score", f.model, d + "/notes.txt"]
        },
        Case(name: "missing image", status: 1, message: "does not exist") { d, f in ["score", f.model, d + "/nope.png"] },
        Case(name: "folder without images", status: 1, message: "no images (") { d, f in ["score", f.model, d] },
        Case(name: "one bad image among good ones", status: 1, message: "1 of 3 images could not be read") { d, f in
            try FileManager.default.copyItem(atPath: f.data + "/test/good/0.png", toPath: d + "/a.png")
            try FileManager.default.copyItem(atPath: f.data + "/test/good/1.png", toPath: d + "/b.png")
            try Data("junk".utf8).write(to: URL(fileURLWithPath: d + "/c.png"))
            return ["score", f.model, d]
        },

        // masks and dataset layout
        Case(name: "mask of the wrong size", status: 1, message: "is 30x40 but its image is 48x48") { d, f in
            try FileManager.default.copyItem(atPath: f.data, toPath: d + "/data")
            try PNGFile.write(TinyDataset.mask(width: 30, height: 40), path: d + "/data/ground_truth/spot/1_mask.png")
            return ["eval", f.model, d + "/data"]
        },
        Case(name: "mask that is not 0/255", status: 0, message: "is not a pure 0/255 mask; pixels above 127 count as defect") { d, f in
            try FileManager.default.copyItem(atPath: f.data, toPath: d + "/data")
            try PNGFile.write(TinyDataset.mask(background: 1, defect: 128), path: d + "/data/ground_truth/spot/0_mask.png")
            return ["eval", f.model, d + "/data"]
        },
        Case(name: "mask that is not a PNG", status: 1, message: "0_mask.png") { d, f in
            try FileManager.default.copyItem(atPath: f.data, toPath: d + "/data")
            try Data("junk".utf8).write(to: URL(fileURLWithPath: d + "/data/ground_truth/spot/0_mask.png"))
            return ["eval", f.model, d + "/data"]
        },
        Case(name: "dataset without train/good", status: 1, message: "has no train/good folder") { d, f in ["eval", f.model, d] },
        Case(name: "dataset missing", status: 1, message: "does not exist or is not a folder") { d, f in ["eval", f.model, d + "/nothing"] },
        Case(name: "dataset without test images", status: 1, message: "has no test images") { d, f in
            try FileManager.default.createDirectory(atPath: d + "/data/train", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: f.data + "/train/good", toPath: d + "/data/train/good")
            return ["eval", f.model, d + "/data"]
        },

        // options
        Case(name: "train at size 100000", status: 1, message: "--size must be a multiple of 16") { d, f in ["train", f.data, "--out", d + "/m", "--size", "100000"] },
        Case(name: "train beyond the memory", status: 1, message: "GB of memory, but this machine has") { d, f in
            ["train", f.data, "--out", d + "/m", "--size", "2048", "--batch", "4096"]
        },
        Case(name: "train that diverges", status: 1, message: "Train again with a lower learning rate") { d, f in
            ["train", f.data, "--out", d + "/m", "--size", "32", "--epochs", "2", "--batch", "4", "--lr", "1e30"]
        },
        Case(name: "train with lr nan", status: 1, message: "--lr must be a positive number") { d, f in ["train", f.data, "--out", d + "/m", "--lr", "nan"] },
        Case(name: "train with val-fraction 1", status: 1, message: "--val-fraction must be in [0, 1)") { d, f in ["train", f.data, "--out", d + "/m", "--val-fraction", "1"] },
        Case(name: "snapshot beyond epochs", status: 1, message: "--snapshot-epochs epoch 9 is not between 1") { d, f in
            ["train", f.data, "--out", d + "/m", "--epochs", "2", "--snapshot-epochs", "9"]
        },
        Case(name: "resume without a checkpoint", status: 1, message: "again without --resume") { d, f in
            let m = try f.model(in: d)
            try FileManager.default.removeItem(atPath: m + "/checkpoint.safetensors")
            return ["train", f.data, "--out", m, "--resume"]
        },
        Case(name: "features at size -5", status: 64, message: "--size must be a multiple of 16") { d, f in
            ["features", "--backbone", "efficientnet-lite0", "--size=-5", "--out", d + "/t.safetensors", f.data + "/test/good/0.png"]
        },
        Case(name: "features at size 0", status: 64, message: "--size must be a multiple of 16") { d, f in
            ["features", "--backbone", "efficientnet-lite0", "--size", "0", "--out", d + "/t.safetensors", f.data + "/test/good/0.png"]
        },
        Case(name: "threshold nan", status: 1, message: "threshold must be a finite number") { d, f in ["threshold", try f.model(in: d), "--value", "nan"] },
        Case(name: "threshold percentile 101", status: 1, message: "percentile must lie in 0...100") { d, f in ["threshold", try f.model(in: d), "--percentile", "101"] },
        Case(name: "export into a file", status: 1, message: "is not a folder") { d, f in
            FileManager.default.createFile(atPath: d + "/file", contents: Data())
            return ["export", f.model, f.data, "--out", d + "/file"]
        },
        Case(name: "export into a non-empty folder", status: 1, message: "exists and is not empty") { d, f in
            FileManager.default.createFile(atPath: d + "/keep.txt", contents: Data())
            return ["export", f.model, f.data, "--out", d]
        },
        Case(name: "eval json into a missing folder", status: 1, message: "could not write") { d, f in ["eval", f.model, f.data, "--json", d + "/no/such/dir/m.json"] },

        // odd paths, relative to the case's own (empty) folder, where each run starts: one character (Foundation's
        // deletingLastPathComponent traps on those), '.', '..', non-ASCII, a trailing slash, an empty argument
        Case(name: "demo data into a one-character folder", status: 0, message: "wrote D: 7 images") { _, _ in
            ["demo-data", "--out", "D", "--size", "32", "--train-count", "2", "--good-count", "1", "--defect-count", "1"]
        },
        Case(name: "train into a one-character folder", status: 0, message: "model in m") { _, f in
            ["train", f.data, "--out", "m", "--size", "32", "--epochs", "1", "--batch", "4"]
        },
        Case(name: "json into a one-character non-ASCII file", status: 0, message: "wrote é") { _, f in ["eval", f.model, f.data, "--json", "é"] },
        Case(name: "watch with a one-character log in the current folder", status: 0, message: "done: seen 0") { _, f in
            ["watch", f.model, ".", "--once", "--log", "l"]
        },
        Case(name: "score a missing one-character path", status: 1, message: "a does not exist") { _, f in ["score", f.model, "a"] },
        Case(name: "dataset '.' that is an empty folder", status: 1, message: ". has no train/good folder") { _, f in ["eval", f.model, "."] },
        Case(name: "export into '..'", status: 1, message: ".. exists and is not empty") { _, f in ["export", f.model, f.data, "--out", ".."] },
        Case(name: "csv into the current folder", status: 1, message: "could not write .: it is a folder") { _, f in
            ["score", f.model, f.data + "/test/good/0.png", "--csv", "."]
        },
        Case(name: "features into a name with a trailing slash", status: 1, message: "a/: write failed: it is a folder") { _, f in
            ["features", "--backbone", "efficientnet-lite0", "--size", "32", "--out", "a/", f.data + "/test/good/0.png"]
        },
        Case(name: "teacher weights that are a folder", status: 1, message: ".: Is a directory") { _, f in
            ["train", f.data, "--out", "m", "--teacher-weights", "."]
        },
        Case(name: "an empty model path", status: 64, message: "argument 2 is empty") { _, f in ["score", "", f.data + "/test/good"] },
        Case(name: "an empty --out=", status: 64, message: "the value of --out is empty") { _, f in ["export", f.model, f.data, "--out="] },
        Case(name: "demo data into an empty name", status: 64, message: "the value of --out is empty") { _, _ in ["demo-data", "--out", ""] },

        // the console without a terminal
        Case(name: "console on TERM=dumb", status: 1, message: "cannot move the cursor") { d, f in ["console", f.data, "--model", f.model, "--term-for-test=dumb"] },
        Case(name: "console without a terminal", status: 1, message: "needs a terminal") { d, f in ["console", f.data, "--model", f.model] },
    ]

    func testCatalogue() throws {
        let binary = StpmBinary.path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            return XCTFail("no stpm binary at \(binary): run `swift build --build-tests` first")
        }
        let root = NSTemporaryDirectory() + "stpm-catalogue-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fixture = Fixture(data: root + "/data", model: root + "/model")
        try TinyDataset.write(to: fixture.data)
        let trained = try StpmBinary.run(["train", fixture.data, "--out", fixture.model, "--size", "32", "--epochs", "1", "--batch", "4"])
        XCTAssertEqual(trained.status, 0, trained.output)
        guard trained.status == 0 else { return }

        XCTAssertGreaterThanOrEqual(Self.cases.count, 40)
        var results = [(Case, StpmBinary.Outcome?, Error?)?](repeating: nil, count: Self.cases.count)
        let lock = NSLock()
        var next = 0
        // Two at a time: the runs mostly wait on the teacher's hash and each other's CPU.
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            while true {
                let i: Int = lock.withLock { defer { next += 1 }; return next }
                guard i < Self.cases.count else { return }
                let c = Self.cases[i]
                let dir = root + "/case\(i)"
                do {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    var args = try c.arguments(dir, fixture)
                    var env: [String: String] = [:]
                    if let t = args.firstIndex(where: { $0.hasPrefix("--term-for-test=") }) {
                        env["TERM"] = String(args.remove(at: t).dropFirst("--term-for-test=".count))
                    }
                    let outcome = try StpmBinary.run(args, in: dir, environment: env)
                    lock.withLock { results[i] = (c, outcome, nil) }
                } catch {
                    lock.withLock { results[i] = (c, nil, error) }
                }
            }
        }
        var crashes = 0, hangs = 0
        for case let (c, outcome, error)? in results {
            guard let outcome else { XCTFail("\(c.name): could not set up: \(String(describing: error))"); continue }
            if outcome.signalled { crashes += 1 }
            if outcome.timedOut { hangs += 1 }
            XCTAssertFalse(outcome.signalled, "\(c.name): crashed (signal \(outcome.status))\n\(outcome.output.prefix(2000))")
            XCTAssertFalse(outcome.timedOut, "\(c.name): did not finish")
            XCTAssertEqual(outcome.status, c.status, "\(c.name): exit status\n\(outcome.output.prefix(2000))")
            XCTAssertTrue(outcome.output.contains(c.message), "\(c.name): expected '\(c.message)' in\n\(outcome.output.prefix(2000))")
            XCTAssertLessThan(outcome.output.utf8.count, 20_000, "\(c.name): message of \(outcome.output.utf8.count) bytes")
            XCTAssertFalse(outcome.output.contains("Error Domain=") || outcome.output.contains("DecodingError")
                           || outcome.output.contains("EncodingError") || outcome.output.contains("The operation could not be completed"),
                           "\(c.name): raw Foundation text\n\(outcome.output.prefix(2000))")
        }
        print("bad-input catalogue: \(Self.cases.count) inputs, \(crashes) crashes, \(hangs) hangs")
    }
}
