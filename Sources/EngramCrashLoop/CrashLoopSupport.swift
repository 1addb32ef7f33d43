#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64: one seed gives the same choices (operations, kill moments, round kinds), so a run
/// that found something can be repeated with its printed seed. Timing still differs from run to
/// run; the seed fixes what is decided, not when the kernel schedules it.
public struct CrashRandom: Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0 ..< bound`.
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "a random bound must be positive, got \(bound)")
        return Int(next() % UInt64(bound))
    }

    /// A value in `range`.
    mutating func within(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.count)
    }

    /// A value in [0, 1).
    mutating func unit() -> Double {
        Double(next() >> 11) / Double(UInt64(1) << 53)
    }

    /// True `percent` times in a hundred.
    mutating func percent(_ percent: Int) -> Bool {
        below(100) < percent
    }

    /// A generator for one part of the run, independent of the order the parts draw in.
    func derived(_ salt: UInt64) -> CrashRandom {
        var copy = CrashRandom(seed: state ^ (salt &* 0xD6E8_FEB8_6659_FD93))
        _ = copy.next()
        return copy
    }

    /// `count` bytes of printable filler, so values and bodies differ in length and content.
    mutating func filler(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(ascii: "a") + UInt8(below(26)) }
    }
}

func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

func monotonicMilliseconds() -> Int {
    Int(monotonicNanoseconds() / 1_000_000)
}

/// A body for a thread of its own, handed over through `pthread_create`'s argument.
private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Runs `body` on a new thread and resumes with its result. For calls that block for as long as
/// a child process pleases (`read` of its standard output, `waitpid`): on Swift's cooperative
/// pool, which has a thread per core, they would stall every task of the client meanwhile.
func onOwnThread<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { (continuation: CheckedContinuation<Result, Never>) in
        let box = Unmanaged.passRetained(ThreadBody { continuation.resume(returning: body()) })
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            let body = Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue()
            body.run()
            return nil
        }, box.toOpaque())
        precondition(created == 0, "pthread_create failed: \(created)")
        pthread_detach(thread)
    }
}

/// Waits for the child `pid` and returns its exit status, or 128 + the signal that ended it.
func waitForExit(_ pid: pid_t) async -> Int32 {
    await onOwnThread {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}

/// Runs `program` with `arguments` (its output goes to ours) and returns its exit status.
func runProgram(_ program: String, _ arguments: [String]) async throws(CrashLoopError) -> Int32 {
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, program, nil, nil, argv, environ)
    guard spawned == 0 else { throw CrashLoopError("cannot run \(program): posix_spawn error \(spawned)") }
    return await waitForExit(pid)
}

/// `cp -a source target`; throws unless it succeeded.
func copyDirectory(_ source: String, to target: String) async throws(CrashLoopError) {
    let status = try await runProgram("/bin/cp", ["-a", source, target])
    guard status == 0 else { throw CrashLoopError("cp -a \(source) \(target) exited with \(status)") }
}

/// `rm -rf path`.
func removeTree(_ path: String) async {
    _ = try? await runProgram("/bin/rm", ["-rf", path])
}

func fileExists(_ path: String) -> Bool {
    access(path, F_OK) == 0
}

/// A failure of the tool itself or of the server it drives (not a loss: those are counted).
public struct CrashLoopError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `1234567` as `1,234,567`, as the summary prints counts.
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
        result.append(character)
    }
    return value < 0 ? "-" + result : result
}
