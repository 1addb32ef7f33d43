#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import Synchronization

/// A real `engramd` child process on a free loopback port with its own data directory.
///
/// It is started with `--port 0 --admin-port 0` and reads the ports from the one line the server
/// prints when ready. Its standard error goes to `server.log` in the directory, for failures.
final class ServerProcess: Sendable {
    let pid: pid_t
    let port: Int
    let adminPort: Int
    let dataDirectory: String

    /// The built products sit beside the test bundle.
    static let productsDirectory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        precondition(count > 0, "cannot read /proc/self/exe")
        let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast()
        return parts.joined(separator: "/")
    }()

    /// `port` 0 picks a free one; a restart passes the previous port to keep clients' address.
    /// `launcher` runs in front of `engramd` (a shell that sets a limit, then `exec`s it), so the
    /// process id is still the server's.
    static func start(dataDirectory: String, port: Int = 0, arguments: [String] = [], launcher: [String] = []) throws -> ServerProcess {
        let program = launcher.first ?? productsDirectory + "/engramd"
        var pipeDescriptors: [Int32] = [0, 0]
        guard pipe(&pipeDescriptors) == 0 else { throw TestFailure("pipe failed: errno \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeDescriptors[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeDescriptors[0])
        let logPath = dataDirectory + ".log"
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let allArguments = launcher + [productsDirectory + "/engramd", "--port", "\(port)", "--admin-port", "0", "--data-directory", dataDirectory, "--log-level", "notice"] + arguments
        let argv = allArguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, nil, argv, environ)
        close(pipeDescriptors[1])
        guard rc == 0 else {
            close(pipeDescriptors[0])
            throw TestFailure("posix_spawn \(program) failed: \(rc)")
        }
        let line = readLine(pipeDescriptors[0])
        close(pipeDescriptors[0])
        // "engramd listening on 127.0.0.1:PORT admin 127.0.0.1:PORT"
        let words = line.split(separator: " ")
        guard words.count == 6, let port = words[3].split(separator: ":").last.flatMap({ Int($0) }),
              let adminPort = words[5].split(separator: ":").last.flatMap({ Int($0) }) else {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            throw TestFailure("engramd did not start: stdout \"\(line)\"; see \(logPath)")
        }
        return ServerProcess(pid: pid, port: port, adminPort: adminPort, dataDirectory: dataDirectory)
    }

    private init(pid: pid_t, port: Int, adminPort: Int, dataDirectory: String) {
        self.pid = pid
        self.port = port
        self.adminPort = adminPort
        self.dataDirectory = dataDirectory
    }

    private static func readLine(_ descriptor: Int32) -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(descriptor, &byte, 1) == 1 {
            if byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func clientConfiguration(token: String = "", connections: Int = 2) -> EngramClientConfiguration {
        var configuration = EngramClientConfiguration(port: port, token: token, clientName: "integration-test")
        configuration.connectionCount = connections
        return configuration
    }

    /// Sends `signal` and waits for the exit; returns the exit status (or 128 + signal).
    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        kill(pid, signal)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let termination = status & 0x7F
        return termination == 0 ? (status >> 8) & 0xFF : 128 + termination
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String = "engram-it") {
        var template = Array("/tmp/\(label)-XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(result != nil, "mkdtemp failed: errno \(errno)")
        path = String(cString: result!)
    }

    /// `ENGRAM_TEST_KEEP=1` keeps the directory (and the server's log in it) for a failure's
    /// post-mortem.
    func remove() {
        if getenv("ENGRAM_TEST_KEEP") != nil { return }
        var pid: pid_t = 0
        let words: [String] = ["/bin/rm", "-rf", path]
        let argv = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        if posix_spawn(&pid, "/bin/rm", nil, nil, argv, environ) == 0 {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    var dataDirectory: String { path + "/data" }
}

/// Starts a server in a fresh directory, runs `body`, stops the server and removes the directory.
func withServer<Result>(arguments: [String] = [], _ body: (ServerProcess) async throws -> Result) async throws -> Result {
    let directory = TemporaryDirectory()
    defer { directory.remove() }
    let server = try ServerProcess.start(dataDirectory: directory.dataDirectory, arguments: arguments)
    do {
        let result = try await body(server)
        expectCleanExit(server.stop())
        return result
    } catch {
        server.stop(signal: SIGKILL)
        throw error
    }
}

import Testing

/// The server stopped by SIGTERM exits 0 after draining.
func expectCleanExit(_ status: Int32, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(status == 0, "engramd exited with \(status)", sourceLocation: sourceLocation)
}
