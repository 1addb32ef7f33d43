import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// `mdb_txn_commit` answers `EIO` both for a write the kernel failed and for a short one (LMDB
/// has no other code for "fewer bytes written than asked"), and a short write is how a full
/// filesystem or the process's file-size limit shows. Seen through the real server on a full
/// disk (DiskFullTests): the client got "io: Input/output error" where it should get "no space".
/// So an `EIO` from a commit is reported as `.noSpace` when the room left says that is what it was.
enum LMDBCommitFailure {
    /// Less free space than this on the data file's filesystem makes an `EIO` a full disk: a
    /// commit writes its dirty pages in one go, so a short write leaves the disk (nearly) full.
    /// Not a bound on anything the store does, only where the diagnosis draws its line.
    static let fullFilesystemFreeBytesMax = 1 << 20

    /// The error for a failed `mdb_txn_commit` of a transaction in `environment` (read before the
    /// commit: the transaction is freed by it).
    static func error(_ rc: Int32, environment: OpaquePointer?) -> EngramError {
        guard rc == EIO, let environment, let reason = fullDiskReason(environment) else {
            return LMDBEnvironment.error(rc, "mdb_txn_commit")
        }
        return EngramError(.noSpace, "mdb_txn_commit: a write of the data file fell short: \(reason)", errno: rc)
    }

    private static func fullDiskReason(_ environment: OpaquePointer) -> String? {
        var path: UnsafePointer<CChar>? = nil
        if mdb_env_get_path(environment, &path) == 0, let path {
            var status = statvfs()
            if statvfs(path, &status) == 0 {
                let freeBytes = Int(status.f_bavail) * Int(status.f_frsize)
                if freeBytes < fullFilesystemFreeBytesMax { return "its filesystem has \(freeBytes) bytes free" }
            }
        }
        var descriptor: Int32 = -1
        var limit = rlimit()
        var file = stat()
        if mdb_env_get_fd(environment, &descriptor) == 0, getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max,
           fstat(descriptor, &file) == 0, UInt64(file.st_size) + UInt64(fullFilesystemFreeBytesMax) >= UInt64(limit.rlim_cur) {
            return "the data file is \(file.st_size) bytes, at the process's file-size limit of \(limit.rlim_cur)"
        }
        return nil
    }
}
