import Foundation

/// What every command says beside its results, on stderr so piped stdout stays clean: warnings,
/// errors about single inputs, and a progress line.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}

/// An input that was skipped (the command goes on and exits non-zero at the end).
func reportError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}

/// A note on stderr without a prefix, such as a count of skipped inputs.
func note(_ message: String) {
    FileHandle.standardError.write(Data("\(message)\n".utf8))
}

/// A self-overwriting progress line on stderr when it is a terminal; silent otherwise, so piped
/// stdout and logs stay clean.
final class StatusLine {
    let tty = isatty(STDERR_FILENO) != 0
    var last = Date.distantPast

    func show(_ text: String) {
        guard tty, Date().timeIntervalSince(last) > 0.1 else { return }
        last = Date()
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(text)".utf8))
    }

    func clear() { if tty { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) } }
}
