#if canImport(Glibc)
import Glibc
#endif

/// Where in its work a kill finds `engramd`, told from outside the server through `/proc`, read
/// just before the SIGKILL.
///
/// **Checkpoints.** A checkpoint runs on the thread named `engram-checkpoint` (`/proc` keeps 15
/// bytes: `engram-checkpoi`), which waits in `futex` between checkpoints and in `clock_nanosleep`
/// between the pieces of a spare log segment it writes and between the windows of its paced
/// writeback (docs/STORAGE.md, "Checkpoints", "The commit log"). Found running or in any other
/// system call just before the SIGKILL, it was inside a checkpoint: syncing episodic segments,
/// applying write buffers to LMDB, committing, writing LMDB's pages back (`sync_file_range`),
/// syncing it, writing the `checkpoint` file, or removing log segments; found in `fsync`/`fdatasync` on LMDB's `data.mdb`, in LMDB's own
/// sync, the slowest step. Both undercount (a kill between two reads is not seen), neither
/// overcounts.
///
/// **Recovery.** LMDB's lock file (`lmdb/lock.mdb`) is opened only by LMDB's environment, which
/// recovery opens after restoring the checkpoint's meta pages (docs/STORAGE.md, "Recovery"). A kill before the server listens that finds it open lands in the replay, in the
/// checkpoint after it, or in the binding of the ports; one that does not, in the process's start.
enum ServerProbe {
    #if arch(x86_64)
    static let syncSystemCalls: Set<Int> = [74, 75] // fsync, fdatasync
    static let idleSystemCalls: Set<Int> = [202, 230, 35] // futex, clock_nanosleep, nanosleep
    #else
    static let syncSystemCalls: Set<Int> = [82, 83] // fsync, fdatasync (the generic table: arm64)
    static let idleSystemCalls: Set<Int> = [98, 115, 101] // futex, clock_nanosleep, nanosleep
    #endif

    /// What the checkpoint thread of `pid` is doing now.
    struct CheckpointActivity {
        var inCheckpoint = false
        var syncingLMDB = false
    }

    static func checkpointActivity(pid: pid_t) -> CheckpointActivity {
        var activity = CheckpointActivity()
        for name in RunPaths.directoryEntries("/proc/\(pid)/task") ?? [] {
            guard let thread = Int(name), readSmallFile("/proc/\(pid)/task/\(thread)/comm")?.hasPrefix("engram-checkpoi") == true,
                  let line = readSmallFile("/proc/\(pid)/task/\(thread)/syscall") else { continue }
            if line.hasPrefix("running") {
                activity.inCheckpoint = true
                continue
            }
            let fields = line.split(separator: " ")
            guard let call = fields.first.flatMap({ Int($0) }), !idleSystemCalls.contains(call) else { continue }
            activity.inCheckpoint = true
            if syncSystemCalls.contains(call), fields.count >= 2, let descriptor = Int(fields[1].dropFirst(2), radix: 16),
               readLink("/proc/\(pid)/fd/\(descriptor)")?.hasSuffix("/lmdb/data.mdb") == true {
                activity.syncingLMDB = true
            }
        }
        return activity
    }

    /// Whether `pid` holds LMDB's lock file open: its store's LMDB environment is open.
    static func hasLMDBOpen(pid: pid_t) -> Bool {
        for descriptor in RunPaths.directoryEntries("/proc/\(pid)/fd") ?? [] {
            if readLink("/proc/\(pid)/fd/\(descriptor)")?.hasSuffix("/lmdb/lock.mdb") == true { return true }
        }
        return false
    }

    private static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 512)
        let count = read(descriptor, &bytes, bytes.count)
        guard count > 0 else { return nil }
        return String(decoding: bytes[0..<count], as: UTF8.self)
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
