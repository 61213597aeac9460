import Foundation

/// Temporary files of stpm's atomic writes (".<name>.<pid>[.<random>].tmp") left behind by a process
/// that was killed between writing and renaming. A file is stale when its process no longer runs; a
/// live writer's (the console training in another process) is left alone.
public enum StaleTemporaries {
    /// Removes the stale temporaries directly in `folder`; returns their names.
    @discardableResult
    public static func remove(in folder: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var removed: [String] = []
        for name in names {
            let pids = writerPIDs(name)
            guard !pids.isEmpty, !pids.contains(where: isRunning) else { continue }
            if unlink(folder + "/" + name) == 0 { removed.append(name) }
        }
        return removed.sorted()
    }

    /// The possible writer process ids when `name` has the form of an stpm temporary file: the pid is
    /// the last or the second-to-last number, so both count, and the file is only stale when neither runs.
    static func writerPIDs(_ name: String) -> [pid_t] {
        guard name.hasPrefix("."), name.hasSuffix(".tmp") else { return [] }
        let parts = name.dropFirst().dropLast(4).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return [] }
        return parts.suffix(2).compactMap { pid_t($0) }.filter { $0 > 0 }
    }

    static func isRunning(_ pid: pid_t) -> Bool {
        pid == getpid() || kill(pid, 0) == 0 || errno == EPERM
    }
}
