import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// How big the store is now: entries per tier and bytes on disk. For `/metrics` and `stats`.
public struct StoreFootprint: Sendable, Equatable {
    public var longTermEntryCount: UInt64 = 0
    public var semanticEntryCount: UInt64 = 0
    /// Disk blocks the LMDB files use (the map is sparse, so this is less than the map size).
    public var lmdbBytes: UInt64 = 0
    /// Disk blocks the commit-log segments use (they are preallocated).
    public var commitLogBytes: UInt64 = 0
    /// Disk blocks the episodic log's segments use.
    public var episodicBytes: UInt64 = 0
}

extension EngramStore {
    /// Counts entries in one read and sums the disk blocks of the data files. Cheap: LMDB keeps
    /// entry counts in each database's root, the write buffers' keys of the two tables are looked
    /// up in LMDB once each (`StoreTransaction.entryCount`), and the directories hold a few files.
    public func footprint() throws(EngramError) -> StoreFootprint {
        var footprint = StoreFootprint()
        let tables = self.tables
        try read { (transaction) throws(EngramError) in
            footprint.longTermEntryCount = try Self.entryCount(tables.longTerm, in: transaction)
            footprint.semanticEntryCount = try Self.entryCount(tables.semantic, in: transaction)
        }
        footprint.lmdbBytes = Self.diskBytes(inDirectory: Path.join(configuration.directory, StoreLayout.lmdbDirectory))
        footprint.commitLogBytes = Self.diskBytes(inDirectory: Path.join(configuration.directory, StoreLayout.logDirectory))
        footprint.episodicBytes = Self.diskBytes(inDirectory: Path.join(configuration.directory, EpisodicFormat.directory))
        return footprint
    }

    private static func entryCount(_ table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> UInt64 {
        UInt64(max(0, try transaction.entryCount(table)))
    }

    /// Allocated bytes of the regular files directly in `directory`; 0 for what cannot be read
    /// (a measurement must not fail the caller).
    private static func diskBytes(inDirectory directory: String) -> UInt64 {
        guard let handle = opendir(directory) else { return 0 }
        defer { closedir(handle) }
        var total: UInt64 = 0
        while let entry = readdir(handle) {
            let name = PosixFileSystem.name(of: entry)
            var status = stat()
            if stat(Path.join(directory, name), &status) == 0, (status.st_mode & S_IFMT) == S_IFREG {
                total += UInt64(status.st_blocks) * 512
            }
        }
        return total
    }
}
