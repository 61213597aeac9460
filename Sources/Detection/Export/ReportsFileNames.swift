/// Output file stems for input images, unique within one run: each path relative to the deepest folder
/// all paths share, with "/" turned into "_" (".", ".." and empty parts left out) and the image extension dropped. DATA/test/cut/000.png and
/// DATA/test/good/000.png become "cut_000" and "good_000", where plain stems would collide.
public func reportFileStems(for paths: [String]) -> [String] {
    let folders = paths.map { $0.split(separator: "/", omittingEmptySubsequences: false).dropLast() }
    var common = folders.first.map(Array.init) ?? []
    for folder in folders.dropFirst() {
        common = Array(zip(common, folder).prefix { $0 == $1 }.map(\.0))
    }
    var seen: [String: Int] = [:]
    return paths.map { path in
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst(common.count)
            .filter { $0 != "" && $0 != "." && $0 != ".." }
        let stem = imageStem(parts.joined(separator: "_"))
        // Distinct paths can still meet ("a/b.png" and "a_b.png"); a counter keeps them apart.
        let n = seen[stem, default: 0]
        seen[stem] = n + 1
        return n == 0 ? stem : "\(stem)-\(n + 1)"
    }
}
