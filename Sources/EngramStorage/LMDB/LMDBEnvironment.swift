import CLMDB
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A named LMDB database handle. Valid for the life of its environment, from any thread.
struct LMDBDatabase: Sendable, Hashable {
    let handle: MDB_dbi
    let name: String
}

/// Owns one LMDB environment: the memory map, the named databases, and a pool of read
/// transactions.
///
/// Thread safety: any thread may call `read`; only the checkpoint thread (or recovery, before it
/// starts) calls `beginWrite` (LMDB allows one write transaction at a time). The environment is
/// opened with `MDB_NOTLS`, so a read transaction is not tied to the OS thread that began it,
/// which Swift tasks and NIO event loops need, and with `MDB_NOSYNC`: a checkpoint syncs the data
/// file at its own pace and records the result in the `checkpoint` file (docs/STORAGE.md,
/// "Checkpoints").
///
/// `@unchecked Sendable`: the `MDB_env*` is safe to share between threads under those two rules;
/// the read-transaction pool is guarded by its mutex.
final class LMDBEnvironment: @unchecked Sendable {
    /// A reset read transaction parked in the pool. `MDB_txn*` is an `OpaquePointer`, which is not
    /// `Sendable`; with `MDB_NOTLS` a reset transaction may be renewed on any thread.
    struct ParkedTransaction: @unchecked Sendable {
        let handle: OpaquePointer
    }

    let handle: OpaquePointer
    let path: String
    let readPoolCountMax: Int
    private let readPool = Lock<[ParkedTransaction]>([])
    private let closed = Atomic<Bool>(false)

    /// Opens (creating if needed) the environment in `directory`.
    init(directory: String, mapBytes: Int, readersMax: Int, databasesMax: Int) throws(EngramError) {
        var environment: OpaquePointer?
        try Self.check(mdb_env_create(&environment), "mdb_env_create")
        guard let environment else { throw EngramError(.io, "mdb_env_create returned no environment") }
        do throws(EngramError) {
            try Self.check(mdb_env_set_mapsize(environment, mapBytes), "mdb_env_set_mapsize(\(mapBytes))")
            try Self.check(mdb_env_set_maxreaders(environment, UInt32(readersMax)), "mdb_env_set_maxreaders(\(readersMax))")
            try Self.check(mdb_env_set_maxdbs(environment, MDB_dbi(databasesMax)), "mdb_env_set_maxdbs(\(databasesMax))")
            let flags = UInt32(MDB_NOTLS | MDB_NOSYNC)
            try Self.check(mdb_env_open(environment, directory, flags, 0o644), "mdb_env_open(\(directory))")
        } catch {
            mdb_env_close(environment)
            throw error
        }
        self.handle = environment
        self.path = directory
        // Two slots stay free: one for the writer's batch, one for a snapshot being opened.
        self.readPoolCountMax = max(1, readersMax - 2)
    }

    deinit {
        close()
    }

    /// Aborts the pooled read transactions and closes the environment. Every read and the write
    /// transaction must have ended.
    func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let parked = readPool.withLock { pool -> [ParkedTransaction] in
            defer { pool.removeAll() }
            return pool
        }
        for transaction in parked { mdb_txn_abort(transaction.handle) }
        mdb_env_close(handle)
    }

    /// Opens or creates a named database. Called at open time, inside the first write transaction.
    func openDatabase(_ name: String, in transaction: LMDBTransaction) throws(EngramError) -> LMDBDatabase {
        var dbi: MDB_dbi = 0
        try Self.check(mdb_dbi_open(transaction.handle, name, UInt32(MDB_CREATE), &dbi), "mdb_dbi_open(\(name))")
        return LMDBDatabase(handle: dbi, name: name)
    }

    /// Runs `body` in a read transaction taken from the pool. The transaction, and every pointer
    /// it hands out, is valid only inside `body`.
    func read<Result>(_ body: (LMDBTransaction) throws(EngramError) -> Result) throws(EngramError) -> Result {
        let transaction = try takeReadTransaction()
        defer { parkReadTransaction(transaction) }
        return try body(LMDBTransaction(handle: transaction, isReadOnly: true))
    }

    private func takeReadTransaction() throws(EngramError) -> OpaquePointer {
        if let parked = readPool.withLock({ $0.popLast() }) {
            let rc = mdb_txn_renew(parked.handle)
            if rc == 0 { return parked.handle }
            mdb_txn_abort(parked.handle)
            try Self.check(rc, "mdb_txn_renew")
        }
        var transaction: OpaquePointer?
        try Self.check(mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &transaction), "mdb_txn_begin(read-only)")
        return transaction!
    }

    private func parkReadTransaction(_ transaction: OpaquePointer) {
        mdb_txn_reset(transaction)
        let parked = readPool.withLock { pool -> Bool in
            guard pool.count < readPoolCountMax else { return false }
            pool.append(ParkedTransaction(handle: transaction))
            return true
        }
        if !parked { mdb_txn_abort(transaction) }
    }

    /// Begins a read transaction the caller owns and must `abort`: a snapshot's.
    func beginPinnedRead() throws(EngramError) -> LMDBTransaction {
        var transaction: OpaquePointer?
        try Self.check(mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &transaction), "mdb_txn_begin(pinned read)")
        return LMDBTransaction(handle: transaction!, isReadOnly: true)
    }

    /// Runs `body` in a write transaction and commits it, or aborts it when `body` throws. A
    /// commit that fails has freed the transaction already (`mdb_txn_commit` aborts on failure),
    /// so it is never aborted a second time: that would free LMDB's own write transaction under
    /// the next one. Checkpoint thread (or recovery, or a closed store's tools) only.
    func write<Result>(_ body: (LMDBTransaction) throws(EngramError) -> Result) throws(EngramError) -> Result {
        let transaction = try beginWrite()
        let result: Result
        do throws(EngramError) {
            result = try body(transaction)
        } catch {
            transaction.abort()
            throw error
        }
        try transaction.commit()
        return result
    }

    /// Begins the write transaction. Checkpoint thread (or recovery) only; prefer `write`.
    func beginWrite() throws(EngramError) -> LMDBTransaction {
        var transaction: OpaquePointer?
        try Self.check(mdb_txn_begin(handle, nil, 0, &transaction), "mdb_txn_begin(write)")
        return LMDBTransaction(handle: transaction!, isReadOnly: false)
    }

    /// Writes every committed page to disk (`fdatasync` of the data file).
    func sync() throws(EngramError) {
        try Self.check(mdb_env_sync(handle, 1), "mdb_env_sync")
    }

    var info: MDB_envinfo {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        return info
    }

    var pageBytes: Int {
        var stat = MDB_stat()
        mdb_env_stat(handle, &stat)
        return Int(stat.ms_psize)
    }

    /// The data file's descriptor, for the checkpoint's paced writeback.
    var fileDescriptor: Int32 {
        var descriptor: Int32 = -1
        mdb_env_get_fd(handle, &descriptor)
        return descriptor
    }

    var maxKeyBytes: Int { Int(mdb_env_get_maxkeysize(handle)) }

    /// Maps an LMDB return code to an `EngramError` naming the call.
    static func check(_ rc: Int32, _ call: @autoclosure () -> String) throws(EngramError) {
        if rc == 0 { return }
        throw error(rc, call())
    }

    static func error(_ rc: Int32, _ call: String) -> EngramError {
        let text = String(cString: mdb_strerror(rc))
        switch rc {
        case MDB_MAP_FULL:
            return EngramError(.mapFull, "\(call): the LMDB map is full (\(text)); restart with a larger map size")
        case MDB_CORRUPTED, MDB_PANIC, MDB_INVALID, MDB_VERSION_MISMATCH:
            return EngramError(.corrupt, "\(call): \(text)")
        case MDB_READERS_FULL, MDB_TXN_FULL:
            return EngramError(.busy, "\(call): \(text)")
        case ENOSPC, EDQUOT, EFBIG:
            return EngramError(.noSpace, "\(call): \(text)", errno: rc)
        case 1...4095:
            return EngramError(.io, "\(call): \(text)", errno: rc)
        default:
            return EngramError(.io, "\(call): LMDB error \(rc): \(text)")
        }
    }
}
