#if canImport(Glibc)
import Glibc
#endif

/// Where in its work a kill finds `engramd`, told from outside the server through `/proc`, read
/// just before the SIGKILL.
///
/// **Checkpoints.**
/// Only a checkpoint syncs LMDB's data file (LMDB itself runs with `MDB_NOSYNC`) and only a
/// checkpoint writes `checkpoint.tmp` (docs/STORAGE.md, "Checkpoints"). So a thread of `engramd`
/// blocked in `fsync`/`fdatasync` on either file, read from `/proc/PID/task/*/syscall` just
/// before the SIGKILL, means the kill lands in a checkpoint's slowest steps; `checkpoint.tmp`
/// left in the directory after the kill means it landed between writing that file and renaming
/// it. Both undercount (a kill between the steps is not seen), neither overcounts.
///
/// **Recovery.** LMDB's lock file (`lmdb/lock.mdb`) is opened only by LMDB's environment, which
/// recovery opens after restoring the checkpoint's meta pages (docs/STORAGE.md, "Recovery",
/// step 2). A kill before the server listens that finds it open lands in the replay, in the
/// checkpoint after it, or in the binding of the ports; one that does not, in the process's start
/// or the restore.
enum ServerProbe {
    #if arch(x86_64)
    static let syncSystemCalls: Set<Int> = [74, 75] // fsync, fdatasync
    #else
    static let syncSystemCalls: Set<Int> = [82, 83] // fsync, fdatasync (the generic table: arm64)
    #endif

    /// Whether a thread of `pid` is syncing LMDB's data file or the checkpoint file now.
    static func isSyncingCheckpoint(pid: pid_t) -> Bool {
        guard let tasks = opendir("/proc/\(pid)/task") else { return false }
        defer { closedir(tasks) }
        while let entry = readdir(tasks) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let thread = Int(name) else { continue }
            guard let line = readSmallFile("/proc/\(pid)/task/\(thread)/syscall") else { continue }
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let call = Int(fields[0]), syncSystemCalls.contains(call),
                  let descriptor = Int(fields[1].dropFirst(2), radix: 16) else { continue }
            guard let target = readLink("/proc/\(pid)/fd/\(descriptor)") else { continue }
            if target.hasSuffix("/lmdb/data.mdb") || target.hasSuffix("/checkpoint.tmp") {
                return true
            }
        }
        return false
    }

    /// Whether `pid` holds LMDB's lock file open: its store's LMDB environment is open.
    static func hasLMDBOpen(pid: pid_t) -> Bool {
        for descriptor in RunPaths.directoryEntries("/proc/\(pid)/fd") ?? [] {
            if readLink("/proc/\(pid)/fd/\(descriptor)")?.hasSuffix("/lmdb/lock.mdb") == true { return true }
        }
        return false
    }

    /// Whether a checkpoint was cut between writing `checkpoint.tmp` and its rename.
    static func leftTemporaryCheckpoint(dataDirectory: String) -> Bool {
        fileExists(dataDirectory + "/checkpoint.tmp")
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
