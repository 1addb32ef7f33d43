#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One `engramd` child process on free loopback ports (`--port 0 --admin-port 0`).
///
/// The server prints one line on standard output when both ports are bound and the store is open,
/// `engramd listening on HOST:PORT admin HOST:PORT`; that line is how the ports are learnt (as the
/// integration tests' `ServerProcess` does) and how "it had opened" is told from "it was still
/// recovering". A thread of its own reads the line, so a kill can land while the read waits; once
/// the process is gone the line is either in the pipe (it had opened) or not.
///
/// Standard error goes to `standardErrorPath`, for the record of a failed start; the log level is
/// `info`, so a graceful stop (SIGTERM from outside) shows there too. Owned by the
/// crash loop's driver, one at a time; `Sendable` so the watchdog task may kill it.
final class EngramdProcess: Sendable {
    struct Listening: Sendable {
        let port: Int
        let adminPort: Int
        /// From the spawn to the line: process start, store open (recovery), both binds.
        let openMilliseconds: Int
    }

    let pid: pid_t
    let standardErrorPath: String
    private let outputDescriptor: Int32
    private let reader: Task<Listening?, Never>
    /// The exit status once the process has been waited for (its id may then be another's).
    private let exitStatus = Mutex<Int32?>(nil)

    private init(pid: pid_t, outputDescriptor: Int32, standardErrorPath: String, startedNanoseconds: UInt64) {
        self.pid = pid
        self.outputDescriptor = outputDescriptor
        self.standardErrorPath = standardErrorPath
        reader = Task {
            await onOwnThread {
                let line = Self.readLine(outputDescriptor)
                let elapsed = Int((monotonicNanoseconds() - startedNanoseconds) / 1_000_000)
                return Self.parse(line, openMilliseconds: elapsed)
            }
        }
    }

    /// Starts `program` with `arguments` after the port and directory arguments.
    static func spawn(program: String, dataDirectory: String, arguments: [String], standardErrorPath: String) throws(CrashLoopError) -> EngramdProcess {
        var pipeDescriptors: [Int32] = [0, 0]
        // Close-on-exec, so later children (cp, the next engramd) do not hold this pipe open.
        guard pipe(&pipeDescriptors) == 0 else { throw CrashLoopError("pipe failed: errno \(errno)") }
        for descriptor in pipeDescriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeDescriptors[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeDescriptors[0])
        posix_spawn_file_actions_addclose(&actions, pipeDescriptors[1])
        posix_spawn_file_actions_addopen(&actions, 2, standardErrorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let allArguments = [program, "--port", "0", "--admin-port", "0", "--data-directory", dataDirectory, "--log-level", "info"] + arguments
        let argv = allArguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let started = monotonicNanoseconds()
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        close(pipeDescriptors[1])
        guard spawned == 0 else {
            close(pipeDescriptors[0])
            throw CrashLoopError("cannot start \(program): posix_spawn error \(spawned)")
        }
        return EngramdProcess(pid: pid, outputDescriptor: pipeDescriptors[0], standardErrorPath: standardErrorPath, startedNanoseconds: started)
    }

    /// The listening line, or nil if the process ended (or was killed) without printing it. Past
    /// `timeoutMilliseconds` the process is killed, so a server that hangs in its open is a failed
    /// start, not a hung tool.
    func listening(timeoutMilliseconds: Int) async -> Listening? {
        let watchdog = Task { [self] in
            try? await Task.sleep(for: .milliseconds(timeoutMilliseconds))
            if !Task.isCancelled { kill(SIGKILL) }
        }
        let result = await reader.value
        watchdog.cancel()
        return result
    }

    /// Sends `signal` unless the process has been waited for (its id may then be another's).
    func kill(_ signal: Int32) {
        exitStatus.withLock { status in
            if status == nil { _ = Glibc.kill(pid, signal) }
        }
    }

    /// Waits for the process to end; returns its exit status, or 128 + the signal.
    func wait() async -> Int32 {
        let status: Int32
        if let known = exitStatus.withLock({ $0 }) {
            status = known
        } else {
            status = await waitForExit(pid)
            exitStatus.withLock { $0 = status }
        }
        // The reader has its answer once the process is gone (end of file at the latest).
        _ = await reader.value
        close(outputDescriptor)
        return status
    }

    /// The exit status if the process has already ended (it is then waited for), else nil.
    /// A failure's report says whether the server was still running or how it had ended.
    func exitStatusIfEnded() -> Int32? {
        exitStatus.withLock { known in
            if let known { return known }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
            let signal = status & 0x7F
            known = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
            return known
        }
    }

    private static func readLine(_ descriptor: Int32) -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(descriptor, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            if count != 1 || byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// "engramd listening on 127.0.0.1:PORT admin 127.0.0.1:PORT"
    private static func parse(_ line: String, openMilliseconds: Int) -> Listening? {
        let words = line.split(separator: " ")
        guard words.count == 6, words[1] == "listening",
              let port = words[3].split(separator: ":").last.flatMap({ Int($0) }),
              let adminPort = words[5].split(separator: ":").last.flatMap({ Int($0) }) else { return nil }
        return Listening(port: port, adminPort: adminPort, openMilliseconds: openMilliseconds)
    }
}
