/// Output file stems for input images, unique within one run: each path relative to the deepest folder
/// all paths share, with "/" turned into "_" (".", ".." and empty parts left out) and the image extension dropped. DATA/test/cut/000.png and
/// DATA/test/good/000.png become "cut_000" and "good_000", where plain stems would collide.
public func reportFileStems(for paths: [String]) -> [String] {
    // Names compare as file-system bytes: Swift's String equality would take NFC and NFD "café" for one.
    var used = Set<[UInt8]>()
    return pathsBelowCommonFolder(paths).map { relative in
        var stem = imageStem(relative.replacingOccurrences(of: "/", with: "_"))
        if stem.isEmpty { stem = "image" }
        // Distinct paths can still meet ("a/b.png" and "a_b.png", or "x-2.png" and a second "x"); the
        // first free counter keeps them apart.
        var candidate = stem
        var n = 1
        while !used.insert(Array(candidate.utf8)).inserted {
            n += 1
            candidate = "\(stem)-\(n)"
        }
        return candidate
    }
}

/// Each path relative to the deepest folder all paths share (".", ".." and empty parts left out): the
/// same on every machine that mounts the folder elsewhere.
public func pathsBelowCommonFolder(_ paths: [String]) -> [String] {
    let folders = paths.map { $0.split(separator: "/", omittingEmptySubsequences: false).dropLast() }
    var common = folders.first.map(Array.init) ?? []
    for folder in folders.dropFirst() {
        common = Array(zip(common, folder).prefix { $0.utf8.elementsEqual($1.utf8) }.map(\.0))
    }
    return paths.map { path in
        path.split(separator: "/", omittingEmptySubsequences: false).dropFirst(common.count)
            .filter { $0 != "" && $0 != "." && $0 != ".." }.joined(separator: "/")
    }
}
