/// Opening a data directory: restore the checkpoint, open LMDB, replay the log into write
/// buffers, checkpoint. docs/STORAGE.md ("Recovery") is the argument for why this loses no
/// acknowledged write and survives a crash at any step.
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

        // Step 1: LMDB starts from the snapshot the checkpoint file names.
        let checkpoint = try CheckpointFile.read(directory: directory, fileSystem: fileSystem)
        if let checkpoint {
            try CheckpointFile.restore(checkpoint, lmdbDirectory: lmdbDirectory)
        } else {
            try prepareNewStore(lmdbDirectory: lmdbDirectory, logDirectory: logDirectory, fileSystem: fileSystem)
        }
        // Step 2: LMDB and its tables.
        let environment = try LMDBEnvironment(directory: lmdbDirectory, mapBytes: limits.mapBytes, readersMax: limits.lmdbReadersMax, databasesMax: limits.lmdbDatabasesMax)
        guard environment.maxKeyBytes >= Limits.lmdbKeyBytesMax else {
            throw EngramError(.limitsInvalid, "this LMDB build accepts keys of \(environment.maxKeyBytes) bytes, the limits assume \(Limits.lmdbKeyBytesMax)")
        }
        let tables = try openTables(environment)
        let state = try environment.read { (transaction) throws(EngramError) in
            (applied: try transaction.readUInt64(tables.meta, MetaKey.appliedLSN) ?? 0,
             versions: try transaction.readUInt64(tables.meta, MetaKey.versionCounter) ?? 0)
        }
        if let checkpoint, checkpoint.lsn != state.applied {
            throw EngramError.corrupt("after restoring the checkpoint, LMDB holds LSN \(state.applied) but the checkpoint names \(checkpoint.lsn)", file: Path.join(directory, Checkpoint.fileName), offset: 0)
        }
        return try replay(configuration, environment: environment, tables: tables, appliedLSN: state.applied, versionCounter: state.versions, durableTransactionID: checkpoint?.lmdbTransaction ?? 0, createdNew: checkpoint == nil, hotTier: hotTier)
    }

    /// Steps 2 (the episodic cut) to 4: the replay, the checkpoint; then the writer.
    private static func replay(_ configuration: StoreConfiguration, environment: LMDBEnvironment, tables: Tables, appliedLSN: UInt64, versionCounter: UInt64, durableTransactionID: UInt64, createdNew: Bool, hotTier: HotTier) throws(EngramError) -> Opened {
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
        let checkpointer = try Checkpointer(directory: directory, fileSystem: fileSystem, environment: environment, tables: tables, views: views, limits: limits, statistics: statistics, durableTransactionID: durableTransactionID, eventHandler: configuration.eventHandler)
        checkpointer.failuresAfterCommit = configuration.checkpointFailuresAfterCommit
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

    /// A directory without a checkpoint has never acknowledged a write (open checkpoints before it
    /// takes any), so leftovers of an interrupted first open are removed. A log with records but
    /// no checkpoint is damage, not leftovers.
    private static func prepareNewStore(lmdbDirectory: String, logDirectory: String, fileSystem: any FileSystem) throws(EngramError) {
        let logNames = try fileSystem.contentsOfDirectory(logDirectory).filter { CommitLogFormat.firstLSN(ofSegmentNamed: $0) != nil }
        for name in logNames {
            let handle = try fileSystem.open(Path.join(logDirectory, name), create: false)
            let head = try handle.read(byteCount: CommitLogFormat.headerBytes, at: 0)
            handle.close()
            if !head.allSatisfy({ $0 == 0 }) {
                throw EngramError.corrupt("the commit log holds records but the checkpoint file is missing", file: Path.join(logDirectory, name), offset: 0)
            }
            try fileSystem.remove(Path.join(logDirectory, name))
        }
        for name in ["data.mdb", "lock.mdb"] {
            try fileSystem.remove(Path.join(lmdbDirectory, name))
        }
    }

    /// Opens the tables in one transaction, which writes the `format` key of a new store; recovery's
    /// last checkpoint makes it durable.
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
            } else {
                try MetaKey.format.withBytes { (key) throws(EngramError) in
                    try withBytes(of: MetaKey.formatVersion.littleEndian) { (value) throws(EngramError) in try transaction.put(tables.meta, key, value) }
                }
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
