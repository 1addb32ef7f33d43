#if canImport(Glibc)
import Glibc
#endif
import EngramStorage
import FoundationEssentials

/// A fresh directory under the system's temporary folder, removed when `remove()` is called.
struct TemporaryDirectory {
    let path: String

    init(_ label: String = "engram") {
        var template = Array("/tmp/\(label)-XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(result != nil, "mkdtemp failed: errno \(errno)")
        path = String(cString: result!)
    }

    /// Removes the directory and everything in it, in this process: spawning `rm` would make a
    /// child that briefly shares every open descriptor, store locks included.
    func remove() {
        removeTree(path)
    }

    func appending(_ name: String) -> String { path + "/" + name }
}

/// Deletes `path` and, if it is a directory, everything under it.
func removeTree(_ path: String) {
    var status = stat()
    guard lstat(path, &status) == 0 else { return }
    if (status.st_mode & S_IFMT) == S_IFDIR, let names = try? PosixFileSystem().contentsOfDirectory(path) {
        for name in names { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// Runs a program to completion and returns its exit status.
@discardableResult
func run(_ program: String, _ arguments: [String]) throws -> Int32 {
    var pid: pid_t = 0
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let rc = posix_spawn(&pid, program, nil, nil, argv, environ)
    guard rc == 0 else { throw EngramError(.io, "posix_spawn \(program) failed", errno: rc) }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return status
}

/// Opens a store in a fresh directory, runs `body`, closes it and removes the directory.
func withStore<Result>(
    limits: Limits = quietLimits(),
    fileSystem: any FileSystem = PosixFileSystem(),
    _ body: (EngramStore, TemporaryDirectory) async throws -> Result
) async throws -> Result {
    let directory = TemporaryDirectory()
    defer { directory.remove() }
    let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: limits, fileSystem: fileSystem))
    do {
        let result = try await body(store, directory)
        store.close()
        return result
    } catch {
        store.close()
        throw error
    }
}

/// The default limits without the background consolidation thread: tests run passes themselves,
/// so nothing changes the store behind their backs (docs/LIFECYCLE.md).
func quietLimits() -> Limits {
    var limits = Limits()
    limits.consolidationIntervalMilliseconds = 0
    return limits
}

/// Limits for tests with `FaultInjectingFileSystem`, which keeps every file's image in memory:
/// commit-log segments of 1 MiB.
func faultLimits() -> Limits {
    var limits = quietLimits()
    limits.mapBytes = 64 << 20
    limits.valueBytesMax = 64 << 10
    limits.batchBytesMax = 256 << 10
    limits.commitLogSegmentBytes = 1 << 20
    limits.checkpointLogBytes = 512 << 10
    limits.checkpointIntervalMilliseconds = 3_600_000
    return limits
}

/// Limits small enough for tests to reach every bound quickly.
func smallLimits() -> Limits {
    var limits = quietLimits()
    limits.mapBytes = 64 << 20
    limits.commitLogSegmentBytes = 16 << 20
    limits.batchBytesMax = 4 << 20
    limits.checkpointLogBytes = 1 << 20
    // Checkpoints only by log volume, so tests that count replayed records are deterministic
    // however slowly they run (under the Thread Sanitizer, say).
    limits.checkpointIntervalMilliseconds = 3_600_000
    return limits
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

let crm = try! Namespace("crm")
let billing = try! Namespace("billing")

/// Runs `body` and returns the EngramError it throws, or nil.
func engramError(_ body: () async throws -> Void) async -> EngramError? {
    do {
        try await body()
        return nil
    } catch let error as EngramError {
        return error
    } catch {
        return EngramError(.io, "unexpected error type: \(error)")
    }
}

/// Polls `condition` every millisecond until it holds, for at most `timeoutSeconds`; sleeping, not
/// spinning, so the cooperative pool's two threads stay free for the tasks being waited on. The
/// bound only ends a test that would otherwise hang: under the thread sanitizer, with the whole
/// engine suite in parallel on two busy cores, 30 s was passed by writers that were only slow.
func waitUntil(timeoutSeconds: Double = 120, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(timeoutSeconds * 1_000))
    while !condition() {
        if ContinuousClock.now > deadline { throw EngramError(.busy, "condition not reached in \(timeoutSeconds) s") }
        try await Task.sleep(for: .milliseconds(1))
    }
}
