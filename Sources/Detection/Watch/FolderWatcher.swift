import Foundation

public enum FolderWatcherError: Error, CustomStringConvertible {
    case unavailable(String)
    case cannotWatch(String, String)

    public var description: String {
        switch self {
        case .unavailable(let why): "inotify is not available (\(why)); use --poll SECONDS"
        case let .cannotWatch(folder, why):
            "cannot watch \(folder): \(why)"
                + (why.contains("No space") ? " (the inotify watch limit: raise fs.inotify.max_user_watches or use --poll SECONDS)" : "")
        }
    }
}

/// Linux inotify over folder trees: a file is reported when a writer closes it (IN_CLOSE_WRITE) or it
/// is moved in (IN_MOVED_TO); a new subfolder gets its own watch and is walked, since files can land in it
/// before the watch exists. An overflowed event queue asks for a walk of everything. Per folder, not per
/// file, state: the watch descriptors.
final class FolderWatcher: FolderSource {
    private let fd: Int32
    private let roots: [String]
    private let excluded: Set<String>
    private var folders: [Int32: String] = [:]
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)

    private static let fileEvents = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO)
    private static let mask = fileEvents | UInt32(IN_CREATE) | UInt32(IN_ONLYDIR)

    init(roots: [String], excluded: Set<String>) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw FolderWatcherError.unavailable(String(cString: strerror(errno))) }
        self.roots = roots
        self.excluded = excluded
        do {
            for root in roots { try watchTree(root) }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// Watches `folder` and every folder under it.
    private func watchTree(_ folder: String) throws {
        try watch(folder)
        let scan = TreeScan(excluded: excluded)
        scan.add(folder)
        while let path = scan.next() {
            var info = stat()
            if stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { try watch(path) }
        }
    }

    private func watch(_ folder: String) throws {
        let wd = inotify_add_watch(fd, folder, FolderWatcher.mask)
        guard wd >= 0 else { throw FolderWatcherError.cannotWatch(folder, String(cString: strerror(errno))) }
        // A renamed folder keeps its descriptor: the new name replaces the old.
        folders[wd] = folder
    }

    func wait(timeout: Double) -> [WatchSignal] {
        var request = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&request, 1, Int32(max(0, timeout) * 1000)) > 0 else { return [] }
        var signals: [WatchSignal] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            buffer.withUnsafeBytes { raw in
                var offset = 0
                while offset + 16 <= n {
                    let wd = raw.load(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.load(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(raw.load(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameBytes = raw[(offset + 16)..<min(n, offset + 16 + length)].prefix { $0 != 0 }
                    offset += 16 + length
                    signals += handle(wd: wd, mask: mask, name: String(decoding: nameBytes, as: UTF8.self))
                }
            }
        }
        return signals
    }

    private func handle(wd: Int32, mask: UInt32, name: String) -> [WatchSignal] {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 { return roots.map { .walk($0) } }
        if mask & UInt32(IN_IGNORED) != 0 {
            folders[wd] = nil
            return []
        }
        guard let folder = folders[wd], !name.isEmpty, !name.hasPrefix(".") else { return [] }
        let path = folder + "/" + name
        guard !excluded.contains(path) else { return [] }
        if mask & UInt32(IN_ISDIR) != 0 {
            guard mask & (UInt32(IN_CREATE) | UInt32(IN_MOVED_TO)) != 0 else { return [] }
            // A failed watch (the limit) still gets its walk now; later files in it would be missed, so say so.
            do { try watchTree(path) } catch { return [.walk(path), .problem("\(error)")] }
            return [.walk(path)]
        }
        return mask & FolderWatcher.fileEvents != 0 ? [.file(path)] : []
    }
}
