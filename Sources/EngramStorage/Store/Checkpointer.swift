/// Takes checkpoints and restores the last one at open. Owned by the writer thread after open.
///
/// A checkpoint: sync the episodic segments written since the last one; make the log durable; `fdatasync` LMDB's data file; read LMDB's two meta pages
/// back from disk; write them with the LSN to `checkpoint` (through a synced temporary file and a
/// rename); pin a read transaction on the snapshot so LMDB cannot reuse its pages; release the
/// previous pin; delete log segments the checkpoint covers.
final class Checkpointer {
    let directory: String
    let fileSystem: any FileSystem
    let environment: LMDBEnvironment
    let dataFilePath: String
    /// Its segments are synced first in every checkpoint (docs/EPISODIC.md, "Durability").
    let episodicLog: EpisodicLog
    /// Read-only access to LMDB's data file, outside the injectable file layer: LMDB does its own
    /// I/O, so a simulated power loss does not apply to its file.
    private let dataFile: any FileHandle
    /// The read transaction that keeps the checkpointed snapshot's pages from being reused.
    private var pin: LMDBTransaction?
    private(set) var lastCheckpointLSN: UInt64 = 0
    private(set) var lastCheckpointNanoseconds: UInt64 = 0
    /// LMDB's last page number at the last checkpoint, to measure the file's growth since.
    private(set) var lastCheckpointPageNumber = 0

    init(directory: String, fileSystem: any FileSystem, environment: LMDBEnvironment, episodicLog: EpisodicLog) throws(EngramError) {
        self.directory = directory
        self.episodicLog = episodicLog
        self.fileSystem = fileSystem
        self.environment = environment
        self.dataFilePath = Path.join(Path.join(directory, StoreLayout.lmdbDirectory), "data.mdb")
        self.dataFile = try PosixFileSystem().open(dataFilePath, create: false)
    }

    deinit {
        dataFile.close()
    }

    /// Makes LMDB's state at `lsn` the recovery point. Writer thread only, between batches.
    func checkpoint(lsn: UInt64, log: CommitLog) throws(EngramError) {
        try episodicLog.syncForCheckpoint()
        try log.sync()
        try environment.sync()
        let pageBytes = environment.pageBytes
        let metaPages = try dataFile.read(byteCount: pageBytes * 2, at: 0)
        guard metaPages.count == pageBytes * 2 else {
            throw EngramError.corrupt("LMDB data file is shorter than its two meta pages", file: dataFilePath, offset: 0)
        }
        let checkpoint = Checkpoint(lsn: lsn, lmdbTransaction: UInt64(environment.info.me_last_txnid), pageBytes: pageBytes, metaPages: metaPages)
        try checkpoint.validateMetaPages(file: dataFilePath)
        try Self.write(checkpoint, directory: directory, fileSystem: fileSystem)
        let newPin = try environment.beginPinnedRead()
        pin?.abort()
        pin = newPin
        lastCheckpointLSN = lsn
        lastCheckpointNanoseconds = monotonicNanoseconds()
        lastCheckpointPageNumber = environment.info.me_last_pgno
        log.resetBytesSinceCheckpoint()
        try log.removeSegments(coveredBy: lsn)
    }

    /// Bytes LMDB's file has grown by since the last checkpoint.
    var growthBytesSinceCheckpoint: Int {
        max(0, environment.info.me_last_pgno - lastCheckpointPageNumber) * environment.pageBytes
    }

    /// Ends the pin; called when the store closes.
    func releasePin() {
        pin?.abort()
        pin = nil
    }

    static func write(_ checkpoint: Checkpoint, directory: String, fileSystem: any FileSystem) throws(EngramError) {
        let temporaryPath = Path.join(directory, Checkpoint.fileName + ".tmp")
        let finalPath = Path.join(directory, Checkpoint.fileName)
        let handle = try fileSystem.open(temporaryPath, create: true)
        do throws(EngramError) {
            try handle.truncate(to: 0)
            try handle.write(checkpoint.encoded(), at: 0)
            try handle.sync()
        } catch {
            handle.close()
            throw error
        }
        handle.close()
        try fileSystem.rename(temporaryPath, to: finalPath)
        try fileSystem.syncDirectory(directory)
    }

    /// Reads the checkpoint file, or nil when there is none (a new store).
    static func read(directory: String, fileSystem: any FileSystem) throws(EngramError) -> Checkpoint? {
        let path = Path.join(directory, Checkpoint.fileName)
        guard fileSystem.exists(path) else { return nil }
        let handle = try fileSystem.open(path, create: false)
        defer { handle.close() }
        let size = try handle.size()
        guard size <= 1 << 20 else { throw EngramError.corrupt("checkpoint file of \(size) bytes is implausibly large", file: path, offset: 0) }
        return try Checkpoint.decode(try handle.read(byteCount: Int(size), at: 0), file: path)
    }

    /// Writes the checkpoint's meta pages back into LMDB's data file before LMDB opens it, so LMDB
    /// starts from the checkpointed snapshot whatever a crash left in its newer meta page.
    static func restore(_ checkpoint: Checkpoint, lmdbDirectory: String) throws(EngramError) {
        let path = Path.join(lmdbDirectory, "data.mdb")
        let fileSystem = PosixFileSystem()
        guard fileSystem.exists(path) else {
            throw EngramError.corrupt("a checkpoint exists but LMDB's data file is missing", file: path, offset: 0)
        }
        let handle = try fileSystem.open(path, create: false)
        defer { handle.close() }
        let size = try handle.size()
        guard size >= Int64(checkpoint.pageBytes * 2) else {
            throw EngramError.corrupt("LMDB's data file of \(size) bytes is shorter than its meta pages", file: path, offset: 0)
        }
        try handle.write(checkpoint.metaPages, at: 0)
        try handle.sync()
    }
}

/// The names inside a data directory.
enum StoreLayout {
    static let lockFile = "LOCK"
    static let lmdbDirectory = "lmdb"
    static let logDirectory = "log"
}
