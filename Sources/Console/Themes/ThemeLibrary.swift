import Foundation

/// Finds theme and colormap files. A theme is named either by path (anything containing "/"
/// or ending in ".theme") or by stem, looked up in the first directory that has it.
public struct ThemeLibrary: Sendable {
    public var directories: [String]

    public init(directories: [String]) {
        self.directories = directories
    }

    /// `STPM_THEMES`, then `Themes` or `share/stpm/themes` beside the executable, then the
    /// source checkout this file was built from (so `swift run` finds the repo's themes).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment,
                                executablePath: String = CommandLine.arguments.first ?? "") -> ThemeLibrary {
        let exeDir = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Themes")
        var dirs: [String] = []
        if let env = environment["STPM_THEMES"], !env.isEmpty { dirs.append(env) }
        dirs += [exeDir.appendingPathComponent("Themes").path,
                 exeDir.appendingPathComponent("../share/stpm/themes").standardized.path,
                 repo.path]
        return ThemeLibrary(directories: dirs.filter { FileManager.default.fileExists(atPath: $0) })
    }

    /// Theme stems across all directories, "default" first, for the `t` cycle.
    public func themeNames() -> [String] {
        var names: Set<String> = []
        for dir in directories {
            for f in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where f.hasSuffix(".theme") {
                names.insert(String(f.dropLast(".theme".count)))
            }
        }
        names.insert(Theme.builtin.name)
        return [Theme.builtin.name] + names.subtracting([Theme.builtin.name]).sorted()
    }

    public func loadTheme(_ nameOrPath: String) throws -> Theme {
        let isPath = nameOrPath.contains("/") || nameOrPath.hasSuffix(".theme")
        let path = isPath ? nameOrPath : directories.map { "\($0)/\(nameOrPath).theme" }
            .first { FileManager.default.fileExists(atPath: $0) }
        guard let path else {
            if nameOrPath == Theme.builtin.name { return Theme.builtin }
            throw ThemeError(file: nameOrPath, line: nil, message: "no such theme in \(directories.joined(separator: ", "))")
        }
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try ThemeParser.theme(try read(path), name: stem, file: path)
    }

    /// Never fails: a broken theme yields the built-in default plus the error to show.
    public func themeOrDefault(_ nameOrPath: String) -> (theme: Theme, error: ThemeError?) {
        do { return (try loadTheme(nameOrPath), nil) } catch let e as ThemeError {
            return (Theme.builtin, e)
        } catch {
            return (Theme.builtin, ThemeError(file: nameOrPath, line: nil, message: "\(error)"))
        }
    }

    /// Colormaps from the first `colormaps.conf`; on any problem, the built-in jet and the error.
    public func colormaps() -> (colormaps: [Colormap], error: ThemeError?) {
        guard let path = directories.map({ "\($0)/colormaps.conf" }).first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            return ([Colormap.builtinJet], nil)
        }
        do {
            let maps = try ThemeParser.colormaps(try read(path), file: path)
            return maps.isEmpty ? ([Colormap.builtinJet], ThemeError(file: path, line: nil, message: "no colormaps defined")) : (maps, nil)
        } catch let e as ThemeError {
            return ([Colormap.builtinJet], e)
        } catch {
            return ([Colormap.builtinJet], ThemeError(file: path, line: nil, message: "\(error)"))
        }
    }

    private func read(_ path: String) throws -> String {
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ThemeError(file: path, line: nil, message: "cannot read file")
        }
    }
}
