/// Opening a data directory: convert a store of the earlier layout, open LMDB on its last
/// checkpoint, replay the log into write buffers, checkpoint. docs/STORAGE.md ("Recovery") is the
/// argument for why this loses no acknowledged write and survives a crash at any step.
enum StoreRecovery {
    struct Opened {
        let environment: LMDBEnvironment
        let tables: Tables
        let views: StoreViews
        let writer: GroupCommitWriter
        let report: RecoveryReport
    }

    static func run(_ configuration: StoreConfiguration, hotTier: HotTier) throws(EngramError) -> Opened {
        let directory = configuration.directory
        let fileSystem = configuration.fileSystem
        let limits = configuration.limits
        let lmdbDirectory = Path.join(directory, StoreLayout.lmdbDirectory)
        let logDirectory = Path.join(directory, StoreLayout.logDirectory)
        try fileSystem.createDirectory(lmdbDirectory)
        try fileSystem.createDirectory(logDirectory)

        // Step 1: a store of the earlier layout starts from the snapshot its checkpoint file names.
        let legacyCheckpoint = try LegacyCheckpoint.read(directory: directory, fileSystem: fileSystem)
        if let legacyCheckpoint { try LegacyCheckpoint.restore(legacyCheckpoint, lmdbDirectory: lmdbDirectory) }
        // Step 2: LMDB. A data file that does not exist yet is a new store.
        let createdNew = !PosixFileSystem().exists(Path.join(lmdbDirectory, "data.mdb"))
        if createdNew { try removeLeftoverLog(logDirectory: logDirectory, fileSystem: fileSystem) }
        let environment = try LMDBEnvironment(directory: lmdbDirectory, mapBytes: limits.mapBytes, readersMax: limits.lmdbReadersMax, databasesMax: limits.lmdbDatabasesMax)
        guard environment.maxKeyBytes >= Limits.lmdbKeyBytesMax else {
            throw EngramError(.limitsInvalid, "this LMDB build accepts keys of \(environment.maxKeyBytes) bytes, the limits assume \(Limits.lmdbKeyBytesMax)")
        }
        // The tables are opened in a synced transaction that writes the `format` key: for a store
        // of the earlier layout, that commit makes the restored snapshot LMDB's own.
        let tables = try openTables(environment)
        let state = try environment.read { (transaction) throws(EngramError) in
            (applied: try transaction.readUInt64(tables.meta, MetaKey.appliedLSN) ?? 0,
             versions: try transaction.readUInt64(tables.meta, MetaKey.versionCounter) ?? 0)
        }
        if let legacyCheckpoint {
            guard legacyCheckpoint.lsn == state.applied else {
                throw EngramError.corrupt("after restoring the checkpoint, LMDB holds LSN \(state.applied) but the checkpoint names \(legacyCheckpoint.lsn)", file: Path.join(directory, Checkpoint.fileName), offset: 0)
            }
            try LegacyCheckpoint.remove(directory: directory, fileSystem: fileSystem)
        }
        return try replay(configuration, environment: environment, tables: tables, appliedLSN: state.applied, versionCounter: state.versions, createdNew: createdNew, hotTier: hotTier)
    }

    /// Steps 3 to 5: the episodic cut, the replay, the checkpoint; then the writer.
    private static func replay(_ configuration: StoreConfiguration, environment: LMDBEnvironment, tables: Tables, appliedLSN: UInt64, versionCounter: UInt64, createdNew: Bool, hotTier: HotTier) throws(EngramError) -> Opened {
        let directory = configuration.directory
        let fileSystem = configuration.fileSystem
        let limits = configuration.limits
        let logDirectory = Path.join(directory, StoreLayout.logDirectory)

        let episodic = try EpisodicLog.open(dataDirectory: directory, fileSystem: fileSystem, limits: limits, environment: environment, tables: tables)
        for cut in episodic.report.tailCuts { configuration.eventHandler?(.episodicTailCut(cut)) }
        let lifecycle = LifecycleState(hotTier: hotTier)
        let views = StoreViews(environment: environment, meta: tables.meta, checkpointLSN: appliedLSN)
        var initialStatistics = StoreStatistics()
        initialStatistics.lastCheckpointLSN = appliedLSN
        let statistics = Lock(initialStatistics)
        let checkpointer = Checkpointer(environment: environment, tables: tables.all, views: views, limits: limits, statistics: statistics, eventHandler: configuration.eventHandler)
        var replayer = Replayer(views: views, tables: tables, limits: limits, versionCounter: versionCounter, episodicLog: episodic.log, lifecycle: lifecycle, checkpointer: checkpointer)
        replayer.interruptionRecordCount = configuration.replayInterruptionRecordCount
        let recovery = try CommitLog.recover(
            directory: logDirectory, fileSystem: fileSystem, segmentBytes: limits.commitLogSegmentBytes,
            recordBytesMax: limits.batchBytesMax + Limits.commitLogOverheadBytes + limits.batchCountMax * 64,
            appliedLSN: appliedLSN, spareCountMax: limits.commitLogSpareSegmentCountMax
        ) { (record) throws(EngramError) in try replayer.accept(record) }
        try replayer.finish()
        if let cut = recovery.tailCut { configuration.eventHandler?(.commitLogTailCut(cut)) }
        // Everything replayed goes to LMDB now, so the log it came from can go and the next open
        // starts from here.
        checkpointer.attach(log: recovery.log)
        try replayer.checkpoint()
        let episodicDamage = episodic.report.damage + (try episodic.log.finishRecovery())
        try lifecycle.load(views: views, tables: tables)
        for damage in episodicDamage { configuration.eventHandler?(.episodicDamage(damage)) }

        let lastApplied = replayer.lastAppliedLSN ?? appliedLSN
        let report = RecoveryReport(checkpointLSN: appliedLSN, recordsReplayed: replayer.recordsReplayed, batchesRolledBack: replayer.batchesRolledBack, tailCut: recovery.tailCut, createdNew: createdNew, episodicTailCuts: episodic.report.tailCuts, episodicDamage: episodicDamage)
        configuration.eventHandler?(.recovered(recordsReplayed: report.recordsReplayed, checkpointLSN: report.checkpointLSN, lastLSN: recovery.log.lastLSN))
        let writer = GroupCommitWriter(tables: tables, limits: limits, log: recovery.log, views: views, checkpointer: checkpointer, statistics: statistics, lastAppliedLSN: lastApplied, versionCounter: replayer.versionCounter, hotTier: hotTier, episodicLog: episodic.log, lifecycle: lifecycle, eventHandler: configuration.eventHandler)
        return Opened(environment: environment, tables: tables, views: views, writer: writer, report: report)
    }

    /// A new `data.mdb` beside a log with records means the data file was removed: those records
    /// would be replayed onto nothing. Log files without records are leftovers of an interrupted
    /// first open (a segment is created before its first record) and go.
    private static func removeLeftoverLog(logDirectory: String, fileSystem: any FileSystem) throws(EngramError) {
        let logNames = try fileSystem.contentsOfDirectory(logDirectory).filter { CommitLogFormat.firstLSN(ofSegmentNamed: $0) != nil }
        for name in logNames {
            let handle = try fileSystem.open(Path.join(logDirectory, name), create: false)
            let head = try handle.read(byteCount: CommitLogFormat.headerBytes, at: 0)
            handle.close()
            if !head.allSatisfy({ $0 == 0 }) {
                throw EngramError.corrupt("the commit log holds records but LMDB's data file is missing", file: Path.join(logDirectory, name), offset: 0)
            }
            try fileSystem.remove(Path.join(logDirectory, name))
        }
    }

    /// Opens the tables in LMDB's first, synced transaction, which (re)writes the `format` key.
    private static func openTables(_ environment: LMDBEnvironment) throws(EngramError) -> Tables {
        try environment.write { (transaction) throws(EngramError) -> Tables in
            let tables = try Tables.open(in: environment, transaction: transaction)
            precondition(tables.all.allSatisfy { Int($0.handle) < WriteBuffer.tableCountMax }, "an LMDB database handle past the write buffer's \(WriteBuffer.tableCountMax) tables")
            let format = try MetaKey.format.withBytes { (key) throws(EngramError) in try transaction.get(tables.meta, key) }
            if let format {
                let version = format.count == 4 ? UInt32(littleEndian: format.loadUnaligned(as: UInt32.self)) : 0
                guard version == MetaKey.formatVersion else {
                    throw EngramError(.corrupt, "the store's table format is version \(version); this build reads version \(MetaKey.formatVersion)")
                }
            }
            try MetaKey.format.withBytes { (key) throws(EngramError) in
                try withBytes(of: MetaKey.formatVersion.littleEndian) { (value) throws(EngramError) in try transaction.put(tables.meta, key, value) }
            }
            return tables
        }
    }
}

/// Applies log records past LMDB's checkpoint into write buffers, each as one batch, skipping
/// batches voided by a later rollback record (it looks one record ahead); checkpoints on the spot
/// when a buffer is full.
struct Replayer {
    let views: StoreViews
    let tables: Tables
    let limits: Limits
    var versionCounter: UInt64
    let episodicLog: EpisodicLog
    let lifecycle: LifecycleState
    let checkpointer: Checkpointer
    private var pending: CommitLogRecord?
    private(set) var lastAppliedLSN: UInt64?
    private(set) var recordsReplayed = 0
    private(set) var batchesRolledBack = 0
    /// `StoreConfiguration.replayInterruptionRecordCount`: the tests' simulated crash in replay.
    var interruptionRecordCount: Int?

    init(views: StoreViews, tables: Tables, limits: Limits, versionCounter: UInt64, episodicLog: EpisodicLog, lifecycle: LifecycleState, checkpointer: Checkpointer) {
        self.views = views
        self.tables = tables
        self.limits = limits
        self.versionCounter = versionCounter
        self.episodicLog = episodicLog
        self.lifecycle = lifecycle
        self.checkpointer = checkpointer
    }

    mutating func accept(_ record: CommitLogRecord) throws(EngramError) {
        if let interruptionRecordCount, recordsReplayed >= interruptionRecordCount {
            throw EngramError(.closed, "recovery interrupted after replaying \(recordsReplayed) records (a test's simulated crash)")
        }
        recordsReplayed += 1
        switch record.kind {
        case .rollback:
            let voided = try record.payload.withBytes { (buffer) throws(EngramError) -> UInt64 in
                var reader = ByteReader(buffer, source: record.file, baseOffset: record.offset)
                return try reader.read(UInt64.self, "the voided LSN")
            }
            if pending?.lsn == voided {
                pending = nil
                batchesRolledBack += 1
            }
        case .batch:
            try finish()
            pending = record
        }
    }

    mutating func finish() throws(EngramError) {
        guard let record = pending else { return }
        pending = nil
        try apply(record)
        if views.view.active.byteCount >= limits.writeBufferBytesMax { try checkpoint() }
    }

    /// Applies every buffer so far to LMDB, on this thread.
    func checkpoint() throws(EngramError) {
        let frozen = views.freezeActive()
        checkpointer.submit(Checkpointer.Handoff(buffer: frozen, segmentFiles: episodicLog.takeFilesForCheckpoint(), deferred: []))
        try checkpointer.runNow()
    }

    private mutating func apply(_ record: CommitLogRecord) throws(EngramError) {
        let tables = self.tables
        let limits = self.limits
        let episodicLog = self.episodicLog
        let lifecycle = self.lifecycle
        let versionCounter = self.versionCounter
        let context = try views.write(lsn: record.lsn) { (transaction) throws(EngramError) -> WriteContext in
            do throws(EngramError) {
                let context = try record.payload.withBytes { (buffer) throws(EngramError) -> WriteContext in
                    var payload = try BatchPayloadReader(buffer, source: record.file, baseOffset: record.offset + Int64(CommitLogFormat.headerBytes))
                    var context = WriteContext(transaction: transaction, tables: tables, limits: limits, batchTimeMicroseconds: payload.batchTimeMicroseconds, versionCounter: versionCounter, payload: nil, episodicLog: episodicLog, lifecycle: lifecycle)
                    while let operation = try payload.nextOperation() {
                        try operation.apply(in: &context)
                    }
                    return context
                }
                try transaction.writeUInt64(tables.meta, MetaKey.appliedLSN, record.lsn)
                try transaction.writeUInt64(tables.meta, MetaKey.versionCounter, context.versionCounter)
                return context
            } catch {
                transaction.writeTarget!.buffer.undoBatch(lsn: record.lsn)
                episodicLog.batchAborted()
                lifecycle.batchAborted()
                throw error
            }
        }
        views.view.active.sealBatch(lsn: record.lsn, nanoseconds: monotonicNanoseconds())
        views.publish(record.lsn)
        self.versionCounter = context.versionCounter
        lastAppliedLSN = record.lsn
        if let failure = context.notifyCommitted() { throw failure }
    }
}

/// The names inside a data directory.
enum StoreLayout {
    static let lockFile = "LOCK"
    static let lmdbDirectory = "lmdb"
    static let logDirectory = "log"
}
