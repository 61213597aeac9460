import XCTest
@testable import Detection

final class ShardTests: XCTestCase {
    func testShardsSplitTheFilesOnceEachWhateverTheMountPoint() {
        let names = (0..<500).map { "line3/2026-11-\($0 % 30)/img\($0).png" }
        let here = names.map { "/mnt/share/" + $0 }, there = names.map { "/data/" + $0 }
        var owner = [Int?](repeating: nil, count: names.count)
        for i in 0..<4 {
            let shard = Shard("\(i)/4")!
            XCTAssertEqual(shard.select(here), shard.select(there), "another machine's mount point")
            for k in shard.select(here) {
                XCTAssertNil(owner[k], "in two shards")
                owner[k] = i
            }
            XCTAssertGreaterThan(shard.select(here).count, 80, "roughly even")
        }
        XCTAssertFalse(owner.contains(nil), "in no shard")
        // Fixed assignment (FNV-1a + fmix64, computed in Python): it must not change between releases.
        XCTAssertTrue(Shard("4/7")!.contains(key: "a.png"))
    }

    func testShardSyntax() {
        XCTAssertEqual(Shard("2/8"), Shard("2/8"))
        for bad in ["8/8", "-1/4", "1/0", "1", "a/b", "1/2/3"] { XCTAssertNil(Shard(bad), bad) }
    }
}
