#if canImport(Glibc)
import Glibc
#endif
import EngramStorage

/// Where a run keeps things. Beside the data directory `D`:
///
/// - `D-logs/`: each start's standard error, `round-N-start-K.log` (K = 2 for the start after a
///   recovery kill), only the current and the previous round's;
/// - `D-before-start`: a copy of `D` as the round's kill left it, taken before the restart opens
///   it (and `D-before-second-start` as a recovery kill left it); on a failure they become
///   `D-failed-round-N` and `D-failed-round-N-before-second-start`;
/// - `D-consistency`: the copy the consistency check opens, removed after the check.
struct RunPaths: Sendable {
    let dataDirectory: String
    /// The temporary directory holding all of it, when the run made one.
    let temporaryRoot: String?

    var logsDirectory: String { dataDirectory + "-logs" }
    var beforeStart: String { dataDirectory + "-before-start" }
    var beforeSecondStart: String { dataDirectory + "-before-second-start" }
    var consistencyCopy: String { dataDirectory + "-consistency" }

    func failed(round: Int) -> String { dataDirectory + "-failed-round-\(round)" }

    func log(round: Int, start: Int) -> String { logsDirectory + "/round-\(round)-start-\(start).log" }

    /// A fresh temporary directory, or `directory`, which must be missing or empty: the checks
    /// hold everything in it to what this run wrote.
    static func make(_ directory: String?) throws(CrashLoopError) -> RunPaths {
        let paths: RunPaths
        if let directory {
            if let entries = directoryEntries(directory), !entries.isEmpty {
                throw CrashLoopError("--data-directory \(directory) is not empty: the checks need a store holding only what this run writes")
            }
            paths = RunPaths(dataDirectory: directory, temporaryRoot: nil)
        } else {
            var template = Array("/tmp/engram-crashloop-XXXXXX".utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw CrashLoopError("mkdtemp failed: errno \(errno)")
            }
            let root = String(cString: made)
            paths = RunPaths(dataDirectory: root + "/data", temporaryRoot: root)
        }
        for path in [paths.dataDirectory, paths.logsDirectory] where mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw CrashLoopError("cannot create \(path): errno \(errno)")
        }
        return paths
    }

    /// The names in `path`, or nil if it is not a directory that can be read.
    static func directoryEntries(_ path: String) -> [String]? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = PosixFileSystem.name(of: entry)
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Removes the logs of rounds before `round - 1`: a long run keeps two rounds' worth.
    func pruneLogs(before round: Int) {
        for name in Self.directoryEntries(logsDirectory) ?? [] {
            let parts = name.split(separator: "-")
            if parts.count >= 2, parts[0] == "round", let logRound = Int(parts[1]), logRound < round - 1 {
                unlink(logsDirectory + "/" + name)
            }
        }
    }

    /// The logs left, as paths.
    var logs: [String] {
        (Self.directoryEntries(logsDirectory) ?? []).map { logsDirectory + "/" + $0 }
    }
}
