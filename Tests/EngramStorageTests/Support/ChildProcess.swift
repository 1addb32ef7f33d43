#if canImport(Glibc)
import Glibc
#endif
import EngramStorage

/// A child process whose standard output goes to a file (never a pipe the child could block on),
/// for the crash tests.
struct ChildProcess {
    let pid: pid_t
    let outputPath: String

    /// The directory holding the test bundle's sibling executables (`swift build` puts every
    /// product of the package there).
    static var productsDirectory: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        precondition(count > 0, "readlink /proc/self/exe failed")
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        while let last = parts.last, !last.hasSuffix(".xctest") { parts.removeLast() }
        parts.removeLast()
        return parts.joined(separator: "/")
    }

    static func launch(_ executable: String, _ arguments: [String], outputPath: String) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var pid: pid_t = 0
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard rc == 0 else { throw EngramError(.io, "cannot start \(executable)", errno: rc) }
        return ChildProcess(pid: pid, outputPath: outputPath)
    }

    func output() throws -> String {
        let handle = try PosixFileSystem().open(outputPath, create: false)
        defer { handle.close() }
        return String(decoding: try handle.read(byteCount: Int(try handle.size()), at: 0), as: UTF8.self)
    }

    func kill(signal: Int32) -> Int32 {
        Glibc.kill(pid, signal)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return status
    }
}
