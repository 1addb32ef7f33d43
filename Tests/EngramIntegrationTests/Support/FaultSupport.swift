#if canImport(Glibc)
import Glibc
#endif

/// Small pieces the fault tests share: the environment, a seeded generator, a clock, running a
/// program, and the server's memory from /proc.

func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

/// SplitMix64: a fixed seed gives the same choices, so a failing run can be repeated.
struct TestRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func monotonicMilliseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000 + now.tv_nsec / 1_000_000
}

/// Runs `program` with `arguments` and waits; throws unless it exits 0. Output goes to the test's.
@discardableResult
func runProgram(_ program: String, _ arguments: [String], allowFailure: Bool = false) throws -> Int32 {
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, program, nil, nil, argv, environ)
    guard rc == 0 else { throw TestFailure("posix_spawn \(program) failed: \(rc)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    if exitStatus != 0 && !allowFailure {
        throw TestFailure("\(program) \(arguments.joined(separator: " ")) exited with \(exitStatus)")
    }
    return exitStatus
}

/// The resident set of a process in bytes: `VmRSS` of /proc/PID/status, or `VmHWM` for its peak
/// since it started.
func residentBytes(of pid: pid_t, field: String = "VmRSS") throws -> Int {
    let descriptor = open("/proc/\(pid)/status", O_RDONLY)
    guard descriptor >= 0 else { throw TestFailure("cannot open /proc/\(pid)/status: errno \(errno)") }
    defer { close(descriptor) }
    var bytes = [UInt8](repeating: 0, count: 8192)
    let count = read(descriptor, &bytes, bytes.count)
    guard count > 0 else { throw TestFailure("cannot read /proc/\(pid)/status") }
    let text = String(decoding: bytes[0..<count], as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
          let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
        throw TestFailure("no \(field) in /proc/\(pid)/status")
    }
    return kilobytes * 1024
}
