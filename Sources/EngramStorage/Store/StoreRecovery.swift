/// Opening a data directory: restore the checkpoint, open LMDB, replay the log, checkpoint again.
/// docs/STORAGE.md ("Recovery") is the argument for why this loses no acknowledged write.
enum StoreRecovery {
    struct Opened {
        let environment: LMDBEnvironment
        let tables: Tables
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

        let checkpoint = try Checkpointer.read(directory: directory, fileSystem: fileSystem)
        if let checkpoint {
            try Checkpointer.restore(checkpoint, lmdbDirectory: lmdbDirectory)
        } else {
            try prepareNewStore(lmdbDirectory: lmdbDirectory, logDirectory: logDirectory, fileSystem: fileSystem)
        }

        let environment = try LMDBEnvironment(directory: lmdbDirectory, mapBytes: limits.mapBytes, readersMax: limits.lmdbReadersMax, databasesMax: limits.lmdbDatabasesMax)
        // The pin on the restored checkpoint, taken before the first write transaction and held
        // until recovery's own checkpoint is durable: without it, replay's transactions would reuse
        // the checkpointed tree's pages (LMDB reuses a page two transactions after the one that
        // freed it), and a crash during replay would leave a checkpoint whose tree was overwritten.
        // docs/STORAGE.md, "Recovery", step 2.
        let restoredPin = checkpoint == nil ? nil : try environment.beginPinnedRead()
        do throws(EngramError) {
            let opened = try openAndReplay(configuration, checkpoint: checkpoint, environment: environment, hotTier: hotTier)
            restoredPin?.abort()
            return opened
        } catch {
            restoredPin?.abort()
            throw error
        }
    }

    /// Steps 2 to 4 of recovery, with the restored checkpoint pinned by the caller.
    private static func openAndReplay(_ configuration: StoreConfiguration, checkpoint: Checkpoint?, environment: LMDBEnvironment, hotTier: HotTier) throws(EngramError) -> Opened {
        let directory = configuration.directory
        let fileSystem = configuration.fileSystem
        let limits = configuration.limits
        let logDirectory = Path.join(directory, StoreLayout.logDirectory)
        let tables = try openTables(environment)
        guard environment.maxKeyBytes >= Limits.lmdbKeyBytesMax else {
            throw EngramError(.limitsInvalid, "this LMDB build accepts keys of \(environment.maxKeyBytes) bytes, the limits assume \(Limits.lmdbKeyBytesMax)")
        }
        let state = try environment.read { (transaction) throws(EngramError) in
            (applied: try transaction.readUInt64(tables.meta, MetaKey.appliedLSN) ?? 0,
             versions: try transaction.readUInt64(tables.meta, MetaKey.versionCounter) ?? 0)
        }
        if let checkpoint, checkpoint.lsn != state.applied {
            throw EngramError.corrupt("after restoring the checkpoint, LMDB holds LSN \(state.applied) but the checkpoint names \(checkpoint.lsn)", file: Path.join(directory, Checkpoint.fileName), offset: 0)
        }

        let episodic = try EpisodicLog.open(dataDirectory: directory, fileSystem: fileSystem, limits: limits, environment: environment, tables: tables)
        for cut in episodic.report.tailCuts { configuration.eventHandler?(.episodicTailCut(cut)) }
        let lifecycle = LifecycleState(hotTier: hotTier)
        var replayer = Replayer(environment: environment, tables: tables, limits: limits, versionCounter: state.versions, episodicLog: episodic.log, lifecycle: lifecycle)
        replayer.interruptionRecordCount = configuration.replayInterruptionRecordCount
        let recovery = try CommitLog.recover(
            directory: logDirectory, fileSystem: fileSystem, segmentBytes: limits.commitLogSegmentBytes,
            recordBytesMax: limits.batchBytesMax + Limits.commitLogOverheadBytes + limits.batchCountMax * 64,
            appliedLSN: state.applied
        ) { (record) throws(EngramError) in try replayer.accept(record) }
        try replayer.finish()
        if let cut = recovery.tailCut { configuration.eventHandler?(.commitLogTailCut(cut)) }
        let episodicDamage = episodic.report.damage + (try episodic.log.finishRecovery())
        try lifecycle.load(environment: environment, tables: tables)
        for damage in episodicDamage { configuration.eventHandler?(.episodicDamage(damage)) }

        let checkpointer = try Checkpointer(directory: directory, fileSystem: fileSystem, environment: environment, episodicLog: episodic.log)
        let lastApplied = replayer.lastAppliedLSN ?? state.applied
        try checkpointer.checkpoint(lsn: lastApplied, log: recovery.log)
        let report = RecoveryReport(checkpointLSN: checkpoint?.lsn ?? 0, recordsReplayed: replayer.recordsReplayed, batchesRolledBack: replayer.batchesRolledBack, tailCut: recovery.tailCut, createdNew: checkpoint == nil, episodicTailCuts: episodic.report.tailCuts, episodicDamage: episodicDamage)
        configuration.eventHandler?(.recovered(recordsReplayed: report.recordsReplayed, checkpointLSN: report.checkpointLSN, lastLSN: recovery.log.lastLSN))
        let writer = GroupCommitWriter(environment: environment, tables: tables, limits: limits, log: recovery.log, checkpointer: checkpointer, lastAppliedLSN: lastApplied, versionCounter: replayer.versionCounter, hotTier: hotTier, episodicLog: episodic.log, lifecycle: lifecycle, eventHandler: configuration.eventHandler)
        return Opened(environment: environment, tables: tables, writer: writer, report: report)
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

    private static func openTables(_ environment: LMDBEnvironment) throws(EngramError) -> Tables {
        let transaction = try environment.beginWrite()
        do throws(EngramError) {
            let tables = try Tables.open(in: environment, transaction: transaction)
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
            try transaction.commit()
            return tables
        } catch {
            transaction.abort()
            throw error
        }
    }
}

/// Applies log records past the checkpoint, each in its own LMDB transaction, skipping batches
/// voided by a later rollback record (it looks one record ahead).
struct Replayer {
    let environment: LMDBEnvironment
    let tables: Tables
    let limits: Limits
    var versionCounter: UInt64
    let episodicLog: EpisodicLog
    let lifecycle: LifecycleState
    private var pending: CommitLogRecord?
    private(set) var lastAppliedLSN: UInt64?
    private(set) var recordsReplayed = 0
    private(set) var batchesRolledBack = 0
    /// `StoreConfiguration.replayInterruptionRecordCount`: the tests' simulated crash in replay.
    var interruptionRecordCount: Int?

    init(environment: LMDBEnvironment, tables: Tables, limits: Limits, versionCounter: UInt64, episodicLog: EpisodicLog, lifecycle: LifecycleState) {
        self.lifecycle = lifecycle
        self.environment = environment
        self.episodicLog = episodicLog
        self.tables = tables
        self.limits = limits
        self.versionCounter = versionCounter
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
    }

    private mutating func apply(_ record: CommitLogRecord) throws(EngramError) {
        let transaction = try environment.beginWrite()
        let context: WriteContext
        do throws(EngramError) {
            context = try record.payload.withBytes { (buffer) throws(EngramError) -> WriteContext in
                var payload = try BatchPayloadReader(buffer, source: record.file, baseOffset: record.offset + Int64(CommitLogFormat.headerBytes))
                var context = WriteContext(transaction: transaction, tables: tables, limits: limits, batchTimeMicroseconds: payload.batchTimeMicroseconds, versionCounter: versionCounter, payload: nil, episodicLog: episodicLog, lifecycle: lifecycle)
                while let operation = try payload.nextOperation() {
                    try operation.apply(in: &context)
                }
                return context
            }
            try transaction.writeUInt64(tables.meta, MetaKey.appliedLSN, record.lsn)
            try transaction.writeUInt64(tables.meta, MetaKey.versionCounter, context.versionCounter)
            try transaction.commit()
            versionCounter = context.versionCounter
            lastAppliedLSN = record.lsn
        } catch {
            transaction.abort()
            episodicLog.batchAborted()
            lifecycle.batchAborted()
            throw error
        }
        if let failure = context.notifyCommitted() { throw failure }
    }
}
