#if canImport(Glibc)
import Glibc
#endif
import CLMDB

extension EngramStore {
    /// Copies the store in `configuration.directory` to `target` with LMDB compacted: the copy's
    /// `data.mdb` holds live pages only, so the bytes of deleted keys and values (an erased
    /// namespace's or lead's, say) that stay in the source's free pages are not in it
    /// (docs/LIFECYCLE.md, "What it does not do"). Offline: the store must not be open anywhere.
    ///
    /// It opens and closes the source first, so recovery has replayed its log and the final
    /// checkpoint covers everything; then copies every live key and value of every table into a new
    /// LMDB environment, writes a checkpoint that describes the copy, and copies the episodic
    /// segment files. The copy is logical, not `mdb_env_copy2(MDB_CP_COMPACT)` (`mdb_copy -c`):
    /// that copies live pages whole, and a live page keeps the stale bytes of nodes deleted from
    /// it in its free gap, so an erased namespace's keys could survive in a page of its neighbour. The source is never changed, so a crash during the copy leaves it whole; the
    /// operator replaces the old directory with `target` afterwards. `target` must not exist or be
    /// an empty directory.
    public static func compactCopy(_ configuration: StoreConfiguration, to target: String) throws(EngramError) {
        var quiet = configuration
        quiet.limits.consolidationIntervalMilliseconds = 0
        try open(quiet).close()
        let fileSystem = PosixFileSystem()
        let source = configuration.directory
        let lockDescriptor = try lockDirectory(source)
        defer { Glibc.close(lockDescriptor) }
        try fileSystem.createDirectory(target)
        guard try fileSystem.contentsOfDirectory(target).isEmpty else {
            throw EngramError(.invalidArgument, "the compaction target \(target) is not empty")
        }
        let limits = configuration.limits
        let targetLMDB = Path.join(target, StoreLayout.lmdbDirectory)
        try fileSystem.createDirectory(targetLMDB)
        try fileSystem.createDirectory(Path.join(target, StoreLayout.logDirectory))
        try copyLiveEntries(from: Path.join(source, StoreLayout.lmdbDirectory), to: targetLMDB, limits: limits)
        try writeCheckpoint(forCopyIn: target, limits: limits)
        try copyFiles(from: Path.join(source, EpisodicFormat.directory), to: Path.join(target, EpisodicFormat.directory), fileSystem: fileSystem)
        try fileSystem.syncDirectory(target)
    }

    /// Entries copied per write transaction: bounds the copy's dirty pages (LMDB keeps a write
    /// transaction's dirty pages in memory, at most 131,072 of them).
    static let compactCopyEntriesPerTransaction = 10_000

    /// Copies every entry of every table from the environment in `source` to a new one in
    /// `target`. New pages come zeroed from LMDB (without `MDB_NOMEMINIT`), so the copy holds only
    /// live bytes.
    private static func copyLiveEntries(from source: String, to target: String, limits: Limits) throws(EngramError) {
        let names = Tables.names + RecordTables.names + LifecycleTables.names
        let input = try LMDBEnvironment(directory: source, mapBytes: limits.mapBytes, readersMax: limits.lmdbReadersMax, databasesMax: limits.lmdbDatabasesMax)
        defer { input.close() }
        let output = try LMDBEnvironment(directory: target, mapBytes: limits.mapBytes, readersMax: limits.lmdbReadersMax, databasesMax: limits.lmdbDatabasesMax)
        defer { output.close() }
        // Opening a named database needs a write transaction; nothing is written to the source.
        let sources = try input.write { (opening) throws(EngramError) -> [LMDBDatabase] in
            var sources: [LMDBDatabase] = []
            for name in names { sources.append(try input.openDatabase(name, in: opening)) }
            return sources
        }
        try input.read { (reading) throws(EngramError) in
            for (name, table) in zip(names, sources) {
                try reading.withCursor(table) { (cursor) throws(EngramError) in
                    var entry = try cursor.first()
                    repeat {
                        try output.write { (writing) throws(EngramError) in
                            let destination = try output.openDatabase(name, in: writing)
                            var count = 0
                            while let current = entry, count < compactCopyEntriesPerTransaction {
                                try writing.put(destination, current.key, current.value)
                                count += 1
                                entry = try cursor.next()
                            }
                        }
                    } while entry != nil
                }
            }
        }
        try output.sync()
    }

    /// A checkpoint naming the compacted copy's meta pages and the LSN it holds.
    private static func writeCheckpoint(forCopyIn target: String, limits: Limits) throws(EngramError) {
        let lmdbDirectory = Path.join(target, StoreLayout.lmdbDirectory)
        let environment = try LMDBEnvironment(directory: lmdbDirectory, mapBytes: limits.mapBytes, readersMax: limits.lmdbReadersMax, databasesMax: limits.lmdbDatabasesMax)
        let lsn: UInt64
        do throws(EngramError) {
            // Opening a named database needs a write transaction; nothing is written.
            let applied = try environment.write { (transaction) throws(EngramError) -> UInt64? in
                try transaction.readUInt64(try environment.openDatabase("meta", in: transaction), MetaKey.appliedLSN)
            }
            guard let applied else { throw EngramError(.corrupt, "the compacted copy in \(lmdbDirectory) has no applied_lsn") }
            lsn = applied
            try environment.sync()
        } catch {
            environment.close()
            throw error
        }
        let transactionID = UInt64(environment.info.me_last_txnid)
        let pageBytes = environment.pageBytes
        environment.close()
        let dataPath = Path.join(lmdbDirectory, "data.mdb")
        let handle = try PosixFileSystem().open(dataPath, create: false)
        defer { handle.close() }
        try handle.sync()
        let checkpoint = Checkpoint(lsn: lsn, lmdbTransaction: transactionID, pageBytes: pageBytes, metaPages: try handle.read(byteCount: pageBytes * 2, at: 0))
        try checkpoint.validateMetaPages(file: dataPath)
        try CheckpointFile.write(checkpoint, directory: target, fileSystem: PosixFileSystem())
    }

    /// Copies every file of `source` into `target`, synced.
    private static func copyFiles(from source: String, to target: String, fileSystem: PosixFileSystem) throws(EngramError) {
        try fileSystem.createDirectory(target)
        guard fileSystem.exists(source) else { return }
        for name in try fileSystem.contentsOfDirectory(source) {
            let input = try fileSystem.open(Path.join(source, name), create: false)
            defer { input.close() }
            let output = try fileSystem.open(Path.join(target, name), create: true)
            defer { output.close() }
            let size = try input.size()
            var offset: Int64 = 0
            while offset < size {
                let bytes = try input.read(byteCount: Int(min(Int64(1 << 20), size - offset)), at: offset)
                guard !bytes.isEmpty else { break }
                try output.write(bytes, at: offset)
                offset += Int64(bytes.count)
            }
            try output.sync()
        }
        try fileSystem.syncDirectory(target)
    }
}
