import CKernels
import Foundation
import Numerics

/// Pixel AUROC and AU-PRO of several groups of the same images (an evaluation's "all" row and its per-type
/// rows, which share every good image) from one sort of all their pixels. Sorting each group by itself
/// sorted tire's 25 good images five times and its 7.3 million pixels twice.
///
/// The numbers equal those of sorting each group alone (`pixelAUROC(maps:masks:)`, `proCurve`): a group's
/// pixels are a subsequence of the sorted whole, so its runs of tied scores come in the same order; the
/// AUROC adds whole runs, and the PRO curve's only order-dependent sum, over defect pixels, meets them in
/// image order inside a run, which is each group's own order as long as good images hold no defect.
struct PixelMetrics {
    struct Image {
        /// Where its map is in the `Maps` given with the images.
        var map: Int
        /// The mask's 8-connected defect regions (MVTec's definition of a defect); `regions.pixelCount` is the map's.
        var regions: DefectRegions
        /// Indices of the groups this image belongs to, ascending.
        var groups: [Int]
    }

    struct Result: Equatable {
        var pixelAUROC: Double
        var auPRO: Double
    }

    /// `groupCount` groups; each image names its own. `curve` receives every PRO curve point (group, fpr, pro),
    /// from (0, 0) to (1, 1).
    static func compute(_ images: [Image], maps: Maps, groupCount: Int, fprLimit: Double = 0.3,
                        curve: ((Int, Double, Double) -> Void)? = nil) -> [Result] {
        precondition(fprLimit > 0 && fprLimit <= 1, "fprLimit must lie in (0, 1], got \(fprLimit)")
        let layout = Layout(images, groupCount: groupCount)
        let keys = sortedKeys(images, maps, layout)
        // The scans only read: the AUROC's in pieces that start at runs of tied scores, the PRO curve's whole.
        let pieces = keys.count >= 1 << 16 ? 2 * Parallelism.threads : 1
        var bounds = (0...pieces).map { keys.count * $0 / pieces }
        for j in 1..<pieces {
            bounds[j] = max(bounds[j], bounds[j - 1])
            while bounds[j] > 0, bounds[j] < keys.count, keys[bounds[j]] >> 32 == keys[bounds[j] - 1] >> 32 { bounds[j] += 1 }
        }
        // The PRO curves of the groups in as many shares as cores (each share reads every key), or on AVX-512
        // eight to a share.
        let shares = curve != nil ? 1 : scansInLanes(layout) ? (groupCount + 7) / 8
            : min(groupCount, Parallelism.threads)
        var partial = [AUROCPiece?](repeating: nil, count: pieces)
        var pro = [Double](repeating: .nan, count: groupCount)
        partial.withUnsafeMutableBufferPointer { partial in
            pro.withUnsafeMutableBufferPointer { pro in
                Parallelism.perform(shares + pieces) { task in
                    if task < shares {
                        let mine = (0..<groupCount).map { $0 % shares == task }
                        for (g, area) in proScan(keys, layout, groups: mine, fprLimit: fprLimit, curve: curve) { pro[g] = area }
                    } else {
                        partial[task - shares] = aurocScan(keys, bounds[task - shares]..<bounds[task - shares + 1], layout)
                    }
                }
            }
        }
        let auroc = AUROCPiece.auroc(partial.map { $0! }, layout)
        return zip(auroc, pro).map { Result(pixelAUROC: $0, auPRO: $1) }
    }

    /// What a pixel's sort key carries below its score: its tag. Tags 0..<kinds are the OK pixels of a kind
    /// (images of one group membership); the tags above number the defect regions of all images.
    struct Layout {
        var groupCount: Int
        /// Groups of each kind, flat: kind k's are `kindGroups[kindStart[k]..<kindStart[k + 1]]`.
        var kindStart: [Int] = [0]
        var kindGroups: [Int] = []
        var imageKind: [Int] = []
        var imageFirstRegionTag: [Int] = []
        var regionKind: [Int] = []
        var regionWeight: [Double] = []
        var okPixels: [Int]
        var regions: [Int]
        var pixels: [Int]

        /// Kinds of each group, flat as `kindGroups`.
        var groupStart: [Int] = []
        var groupKinds: [Int] = []

        var kinds: Int { kindStart.count - 1 }

        func groups(of kind: Int) -> ArraySlice<Int> { kindGroups[kindStart[kind]..<kindStart[kind + 1]] }
        func kinds(of group: Int) -> ArraySlice<Int> { groupKinds[groupStart[group]..<groupStart[group + 1]] }

        init(_ images: [Image], groupCount: Int) {
            self.groupCount = groupCount
            okPixels = Array(repeating: 0, count: groupCount)
            regions = okPixels
            pixels = okPixels
            var kindOf: [[Int]: Int] = [:]
            for image in images {
                let kind = kindOf[image.groups] ?? {
                    kindGroups += image.groups
                    kindStart.append(kindGroups.count)
                    kindOf[image.groups] = kindStart.count - 2
                    return kindStart.count - 2
                }()
                imageKind.append(kind)
                let defect = image.regions.sizes.reduce(0, +)
                for g in image.groups {
                    precondition(g >= 0 && g < groupCount, "group \(g) of \(groupCount)")
                    okPixels[g] += image.regions.pixelCount - defect
                    regions[g] += image.regions.count
                    pixels[g] += image.regions.pixelCount
                }
            }
            groupStart = [0]
            for g in 0..<groupCount {
                groupKinds += (0..<kinds).filter { groups(of: $0).contains(g) }
                groupStart.append(groupKinds.count)
            }
            for (image, kind) in zip(images, imageKind) {
                imageFirstRegionTag.append(kindStart.count - 1 + regionKind.count)
                regionKind += repeatElement(kind, count: image.regions.count)
                regionWeight += image.regions.sizes.map { 1 / Double($0) }
            }
            precondition(kinds + regionKind.count <= Int(UInt32.max), "\(regionKind.count) defect regions do not fit the sort key")
        }
    }

    /// Score bits above, tag below, stably sorted by score: tied pixels stay in image and raster order.
    /// `radixSort(_:ignoringLowBytes: 4)`'s two steps, with its first scatter reading the maps themselves: one pass
    /// counts the top 16 score bits, a second writes each pixel's key straight into its bucket (there is no array of
    /// unsorted keys to write, read twice and fault in), then `sortBuckets` sorts each bucket in place.
    static func sortedKeys(_ images: [Image], _ maps: Maps, _ layout: Layout) -> [UInt64] {
        for (i, image) in images.enumerated() {
            precondition(image.map >= 0 && image.map < maps.count, "image \(i)'s map \(image.map) of \(maps.count)")
            let pixels = maps.withMap(image.map) { $0.count }
            precondition(pixels == image.regions.pixelCount, "map \(i) has \(pixels) pixels, its mask \(image.regions.pixelCount)")
        }
        let count = images.reduce(0) { $0 + $1.regions.pixelCount }
        // Parts of whole images, in order, one per core: each counts its own keys per bucket, then writes them
        // behind those of the parts before it, so the order is the sequential one.
        let parts = count >= 1 << 16 ? min(Parallelism.threads, images.count) : 1
        let firstImage = (0...parts).map { images.count * $0 / parts }
        return [UInt64](unsafeUninitializedCapacity: count) { keys, initialized in
            // Small pages: on this VM a 2 MB page comes from a free block the guest has handed back to the host, so
            // zeroing it faults the host in page by page (tire's sort took 140-280 ms of CPU with them, 100-115 without).
            let keys = keys.baseAddress!
            let starts = countingScatter(parts: parts, values: 1 << 16, total: count, uniformWritesNothing: false, count: { part, counts in
                for image in images[firstImage[part]..<firstImage[part + 1]] {
                    maps.withMap(image.map) { map in
                        for score in map { counts[Int(ascendingBits(score) >> 16)] += 1 }
                    }
                }
            }, write: { part, next in
                for i in firstImage[part]..<firstImage[part + 1] {
                    let image = images[i]
                    let okTag = UInt64(layout.imageKind[i]), regionBase = UInt64(layout.imageFirstRegionTag[i] - 1)
                    maps.withMap(image.map) { map in
                        // Pixels up to the next defect pixel take the OK tag, that one its region's.
                        var start = 0
                        for (defect, label) in zip(image.regions.pixels, image.regions.labels) + [(Int32(map.count), Int32(0))] {
                            for score in map[start..<Int(defect)] {
                                let bits = ascendingBits(score), bucket = Int(bits >> 16)
                                keys[next[bucket]] = UInt64(bits) << 32 | okTag
                                next[bucket] += 1
                            }
                            guard Int(defect) < map.count else { break }
                            let bits = ascendingBits(map[Int(defect)]), bucket = Int(bits >> 16)
                            keys[next[bucket]] = UInt64(bits) << 32 | (regionBase + UInt64(label))
                            next[bucket] += 1
                            start = Int(defect) + 1
                        }
                    }
                }
            })
            if count > 0 { sortBuckets(keys, starts: starts, bytes: 4..<6, parts: parts) }
            initialized = count
        }
    }

    /// A stretch of the sorted pixels, whole runs of tied scores, for the Mann-Whitney AUROC of each group
    /// (ties count one half): twice the wins of its positives over the negatives below them in the stretch,
    /// and its positives and negatives per kind. Twice the wins is an integer, so the pieces add up exactly,
    /// in any order, to what `auroc` sums in doubles (exact there too, up to 2^53).
    struct AUROCPiece {
        var twiceWins: [Int]
        var positives: [Int]
        var negatives: [Int]

        /// Each piece's positives also beat every negative of the pieces below it.
        static func auroc(_ pieces: [AUROCPiece], _ layout: Layout) -> [Double] {
            (0..<layout.groupCount).map { g in
                var twiceWins = 0, positives = 0, negatives = 0
                for piece in pieces {
                    let p = layout.kinds(of: g).reduce(0) { $0 + piece.positives[$1] }
                    twiceWins += piece.twiceWins[g] + 2 * negatives * p
                    positives += p
                    negatives += layout.kinds(of: g).reduce(0) { $0 + piece.negatives[$1] }
                }
                return positives > 0 && negatives > 0 ? Double(twiceWins) / 2 / (Double(positives) * Double(negatives)) : .nan
            }
        }
    }

    /// Ascending through `range`. Wins are kept per pair of kinds, the positive's and the negative's, and added
    /// into each group's (every pair of its kinds) at the end: adding them to the groups' sums pixel by pixel,
    /// through each group's kinds, took a third of the scan.
    static func aurocScan(_ keys: [UInt64], _ range: Range<Int>, _ layout: Layout) -> AUROCPiece {
        let groups = layout.groupCount, kinds = layout.kinds
        // Per kind: this run's positives and negatives, the piece's positives, negatives below this run.
        let counts = scratch([Int](repeating: 0, count: 4 * kinds))
        // `twiceWinsOfKinds[k * kinds + j]`: twice the wins of kind k's positives over kind j's negatives.
        let twiceWinsOfKinds = scratch([Int](repeating: 0, count: kinds * kinds)), touched = scratch([Int](repeating: 0, count: kinds))
        defer { for p in [counts, twiceWinsOfKinds, touched] { p.deallocate() } }
        let runPositives = counts, runNegatives = counts + kinds, positives = counts + 2 * kinds, negativesBelow = counts + 3 * kinds
        keys.withUnsafeBufferPointer { keys in
            layout.regionKind.withUnsafeBufferPointer { regionKind in
                var start = range.lowerBound
                while start < range.upperBound {
                    let run = keys[start] >> 32
                    if start + 1 == range.upperBound || keys[start + 1] >> 32 != run {
                        // A score held by one pixel, most of them.
                        let tag = Int(truncatingIfNeeded: keys[start] & 0xFFFF_FFFF)
                        if tag < kinds {
                            negativesBelow[tag] += 1
                        } else {
                            let kind = regionKind[tag - kinds]
                            positives[kind] += 1
                            let wins = twiceWinsOfKinds + kind * kinds
                            for j in 0..<kinds { wins[j] += 2 * negativesBelow[j] }
                        }
                        start += 1
                        continue
                    }
                    // A run of tied scores: each positive in it beats the negatives below and half of those in it.
                    var end = start, touchedCount = 0
                    var runHasPositives = false
                    while end < range.upperBound, keys[end] >> 32 == run {
                        let tag = Int(truncatingIfNeeded: keys[end] & 0xFFFF_FFFF)
                        let positive = tag >= kinds
                        let kind = positive ? regionKind[tag - kinds] : tag
                        if runPositives[kind] == 0 && runNegatives[kind] == 0 {
                            touched[touchedCount] = kind
                            touchedCount += 1
                        }
                        if positive { runPositives[kind] += 1 } else { runNegatives[kind] += 1 }
                        runHasPositives = runHasPositives || positive
                        end += 1
                    }
                    if runHasPositives {
                        for t in 0..<touchedCount where runPositives[touched[t]] > 0 {
                            let kind = touched[t], wins = twiceWinsOfKinds + kind * kinds
                            for j in 0..<kinds { wins[j] += runPositives[kind] * (2 * negativesBelow[j] + runNegatives[j]) }
                        }
                    }
                    for t in 0..<touchedCount {
                        let kind = touched[t]
                        negativesBelow[kind] += runNegatives[kind]
                        positives[kind] += runPositives[kind]
                        runNegatives[kind] = 0
                        runPositives[kind] = 0
                    }
                    start = end
                }
            }
        }
        let twiceWins = (0..<groups).map { g in
            layout.kinds(of: g).reduce(0) { sum, k in layout.kinds(of: g).reduce(sum) { $0 + twiceWinsOfKinds[k * kinds + $1] } }
        }
        return AUROCPiece(twiceWins: twiceWins, positives: Array(UnsafeBufferPointer(start: positives, count: kinds)),
                          negatives: Array(UnsafeBufferPointer(start: negativesBelow, count: kinds)))
    }

    /// Whether `proScan` without a curve runs on `stpm_pro_scan_avx512`, whose counts are 32-bit.
    static func scansInLanes(_ layout: Layout) -> Bool {
        InstructionSet.avx512 && layout.okPixels.allSatisfy { $0 < Int(Int32.max) }
    }

    /// `proScan` without a curve on `stpm_pro_scan_avx512`, eight groups a call, one per lane: the same
    /// arithmetic group by group, so the same areas to the last bit, for the work of one group on a scalar path.
    static func proScanLanes(_ keys: [UInt64], _ layout: Layout, groups mine: [Bool], fprLimit: Double) -> [(group: Int, auPRO: Double)] {
        let defined = (0..<layout.groupCount).filter { mine[$0] && layout.okPixels[$0] > 0 && layout.regions[$0] > 0 }
        var areas: [Int: PROArea] = [:]
        let regionKind = layout.regionKind.map { UInt32($0) }
        for first in stride(from: 0, to: defined.count, by: 8) {
            let lanes = defined[first..<min(first + 8, defined.count)]
            var kindLanes = [UInt8](repeating: 0, count: layout.kinds)
            var okPixels = [Float](repeating: 1, count: 8), regions = [Double](repeating: 1, count: 8)
            for (j, g) in lanes.enumerated() {
                for kind in layout.kinds(of: g) { kindLanes[kind] |= 1 << j }
                okPixels[j] = Float(layout.okPixels[g])
                regions[j] = Double(layout.regions[g])
            }
            // Every lane starts after the point (0, 0) with PRO 0 (PROArea.add(0, 0) and proScan's min(0 / regions, 1)).
            var state = [Double](repeating: 0, count: 56), falsePositives = [Int32](repeating: 0, count: 8)
            var live = UInt8(truncatingIfNeeded: (1 << lanes.count) - 1), reached: UInt8 = 0
            _ = stpm_pro_scan_avx512(keys, keys.count, layout.kinds, kindLanes, regionKind, layout.regionWeight, okPixels,
                                     regions, fprLimit, &state, &falsePositives, &live, &reached)
            for (j, g) in lanes.enumerated() {
                let complete = live & (1 << j) == 0
                areas[g] = PROArea(limit: fprLimit, sum: state[j], last: (state[8 + j], state[16 + j]),
                                   beyond: complete ? (state[24 + j], state[32 + j]) : nil, reachedLimit: reached & (1 << j) != 0)
            }
        }
        return (0..<layout.groupCount).filter { mine[$0] }.map { g in
            guard var area = areas[g] else { return (g, .nan) }
            area.add(1, 1)
            return (g, area.area / fprLimit)
        }
    }

    /// AU-PRO of the groups marked `mine`: the PRO curve of `proCurve`, descending through the scores,
    /// integrated up to `fprLimit` as it is built (`PROArea`). Without `curve` the scan ends once each of these
    /// groups' false positive rate has passed the limit (a third of the pixels at 0.3), and stops counting a
    /// group's pixels once its area is complete.
    static func proScan(_ keys: [UInt64], _ layout: Layout, groups mine: [Bool], fprLimit: Double,
                        curve: ((Int, Double, Double) -> Void)?) -> [(group: Int, auPRO: Double)] {
        if curve == nil && scansInLanes(layout) { return proScanLanes(keys, layout, groups: mine, fprLimit: fprLimit) }
        let groups = layout.groupCount, kinds = layout.kinds
        let falsePositives = scratch([Int](repeating: 0, count: groups)), proSum = scratch([Double](repeating: 0, count: groups))
        let okPixels = scratch(layout.okPixels.map { Float($0) }), regions = scratch(layout.regions.map { Double($0) })
        // Each group's PRO as of its last point: only its defect pixels change it, so an OK pixel's point reuses it.
        let pro = scratch((0..<groups).map { min(0 / regions[$0], 1) })
        let areas = scratch((0..<groups).map { _ in PROArea(limit: fprLimit) })
        // Groups that need no more points: one lies beyond the limit, or the area is undefined (no OK pixel or region).
        let complete = scratch((0..<groups).map { !mine[$0] || layout.okPixels[$0] == 0 || layout.regions[$0] == 0 })
        var done = (0..<groups).filter { complete[$0] }.count
        let touched = scratch([Bool](repeating: false, count: groups)), touchedList = scratch([Int](repeating: 0, count: groups))
        var touchedCount = 0
        // Each kind's groups that take points: those among `mine`, without a curve only those not yet complete.
        let live = scratch([Int](repeating: 0, count: layout.kindGroups.count)), liveStart = scratch([Int](repeating: 0, count: kinds + 1))
        func relist() {
            var n = 0
            for kind in 0..<kinds {
                liveStart[kind] = n
                for g in layout.groups(of: kind) where mine[g] && (curve != nil || !complete[g]) {
                    live[n] = g
                    n += 1
                }
            }
            liveStart[kinds] = n
        }
        relist()
        let regionKind = scratch(layout.regionKind), regionWeight = scratch(layout.regionWeight)
        defer {
            for p in [falsePositives, live, liveStart, regionKind, touchedList] { p.deallocate() }
            for p in [proSum, pro, regionWeight, regions] { p.deallocate() }
            areas.deallocate()
            complete.deallocate()
            touched.deallocate()
            okPixels.deallocate()
        }
        for g in 0..<groups where mine[g] {
            areas[g].add(0, 0)
            curve?(g, 0, 0)
        }
        /// Adds group g's point after the last pixel of a run that held it; true when that completes its area.
        func point(_ g: Int) -> Bool {
            // The official code divides in float32; keeping its rounding keeps the curve point-for-point identical.
            let fpr = min(Double(Float(falsePositives[g]) / okPixels[g]), 1)
            areas[g].add(fpr, pro[g])
            curve?(g, fpr, pro[g])
            guard !complete[g], areas[g].complete else { return false }
            complete[g] = true
            return true
        }
        keys.withUnsafeBufferPointer { keys in
            var position = keys.count - 1
            while position >= 0 {
                let score = keys[position] >> 32
                var completed = 0
                if position == 0 || keys[position - 1] >> 32 != score {
                    // A score held by one pixel, most of them: a point for each group of its kind.
                    let tag = Int(truncatingIfNeeded: keys[position] & 0xFFFF_FFFF)
                    if tag < kinds {
                        for k in liveStart[tag]..<liveStart[tag + 1] {
                            let g = live[k]
                            falsePositives[g] += 1
                            if point(g) { completed += 1 }
                        }
                    } else {
                        let kind = regionKind[tag - kinds], weight = regionWeight[tag - kinds]
                        for k in liveStart[kind]..<liveStart[kind + 1] {
                            let g = live[k]
                            proSum[g] += weight
                            pro[g] = min(proSum[g] / regions[g], 1)
                            if point(g) { completed += 1 }
                        }
                    }
                    position -= 1
                } else {
                    // A run of tied scores: one point after its last pixel for each group it holds.
                    while position >= 0, keys[position] >> 32 == score {
                        let tag = Int(truncatingIfNeeded: keys[position] & 0xFFFF_FFFF)
                        let ok = tag < kinds
                        let kind = ok ? tag : regionKind[tag - kinds], weight = ok ? 0 : regionWeight[tag - kinds]
                        for k in liveStart[kind]..<liveStart[kind + 1] {
                            let g = live[k]
                            if ok { falsePositives[g] += 1 } else { proSum[g] += weight }
                            if !touched[g] {
                                touched[g] = true
                                touchedList[touchedCount] = g
                                touchedCount += 1
                            }
                        }
                        position -= 1
                    }
                    for t in 0..<touchedCount {
                        let g = touchedList[t]
                        touched[g] = false
                        pro[g] = min(proSum[g] / regions[g], 1)
                        if point(g) { completed += 1 }
                    }
                    touchedCount = 0
                }
                if completed > 0 {
                    done += completed
                    if curve == nil {
                        if done == groups { break }
                        relist()
                    }
                }
            }
        }
        return (0..<groups).filter { mine[$0] }.map { g in
            areas[g].add(1, 1)
            curve?(g, 1, 1)
            return (g, layout.regions[g] > 0 && layout.okPixels[g] > 0 ? areas[g].area / fprLimit : .nan)
        }
    }
}

/// A copy of `values` for a scan's inner loop, where Swift arrays cost a uniqueness check per write;
/// the caller deallocates it.
private func scratch<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
    _ = UnsafeMutableBufferPointer(start: p, count: values.count).initialize(from: values)
    return p
}

/// `trapezoid(x:y:xMax:)` over a curve given point by point with x ascending: the same sums in the same
/// order, so the same area to the last bit.
struct PROArea {
    let limit: Double
    private var sum = 0.0
    private var last: (x: Double, y: Double)?
    private var beyond: (x: Double, y: Double)?
    private var reachedLimit = false

    init(limit: Double) { self.limit = limit }

    /// The state `stpm_pro_scan_avx512` leaves in a lane.
    init(limit: Double, sum: Double, last: (x: Double, y: Double), beyond: (x: Double, y: Double)?, reachedLimit: Bool) {
        self.limit = limit
        self.sum = sum
        self.last = last
        self.beyond = beyond
        self.reachedLimit = reachedLimit
    }

    /// Later points cannot change the area.
    var complete: Bool { beyond != nil }

    mutating func add(_ x: Double, _ y: Double) {
        guard x.isFinite, y.isFinite, beyond == nil else { return }
        guard x <= limit else { beyond = (x, y); return }
        if let last { sum += 0.5 * (y + last.y) * (x - last.x) }
        last = (x, y)
        if x == limit { reachedLimit = true }
    }

    /// The area up to `limit`, interpolating y linearly at `limit` when no point lies there.
    var area: Double {
        guard !reachedLimit else { return sum }
        guard let last, let beyond else { preconditionFailure("PROArea: the limit \(limit) lies outside the points") }
        let yAtLimit = last.y + (beyond.y - last.y) * (limit - last.x) / (beyond.x - last.x)
        return sum + 0.5 * (yAtLimit + last.y) * (limit - last.x)
    }
}
