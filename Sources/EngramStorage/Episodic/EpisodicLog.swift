import Synchronization

/// The episodic log's files and the work that follows each batch (docs/EPISODIC.md).
///
/// Owner: the store. The writer thread runs `append` (inside a batch, through
/// `EpisodeAppendOperation.apply`), the batch hooks, and `takeFilesForCheckpoint`; those touch the
/// fields marked "writer thread only". Readers on any thread use `readHandles` and the follower
/// state, each behind its own mutex. `@unchecked Sendable` on those terms.
final class EpisodicLog: BatchParticipant, @unchecked Sendable {
    /// A block's bytes, built in the transaction, written to its segment after the commit.
    struct PendingWrite {
        let segment: UInt64
        let offset: UInt64
        let bytes: [UInt8]
    }

    /// What one batch has buffered outside LMDB.
    struct BatchWork {
        var started = false
        var writes: [PendingWrite] = []
        /// Segments sealed in the batch, cut to their last block after the writes.
        var truncations: [(segment: UInt64, endOffset: UInt64)] = []
        /// Segment files created in the batch, removed if it aborts.
        var createdSegments: [UInt64] = []
        /// The state the batch's last operation wrote.
        var lastState: EpisodicState?
        /// Segment files no row names once the batch commits (retention, recompression).
        var removedFiles: [(segment: UInt64, generation: UInt32)] = []
        /// The batch deleted every piece numbered below this (`deletePieces`).
        var piecesDeletedBelow: UInt64?
    }

    /// Followers waiting for a commit, and the committed end they compare against.
    struct FollowState {
        var committedNextPosition: UInt64
        var closed = false
        var nextWaiterID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var cancelledWaiters: Set<UInt64> = []
    }

    let directory: String
    let fileSystem: any FileSystem
    let limits: Limits
    let table: LMDBDatabase
    let environment: LMDBEnvironment

    // Writer thread only.
    var writeHandles: [UInt64: any FileHandle] = [:]
    var unsyncedSegments: Set<UInt64> = []
    var activeSegment: UInt64 = 0
    var batch = BatchWork()
    /// No committed piece is numbered below this: `deletePieces` seeks from here, not from 0, so
    /// it does not step over the deleted pieces the write buffers hold until their checkpoint
    /// (one a batch; stepping over them all made each batch's first append cost more the longer
    /// the buffer grew). Only rises, at a commit; 0 after an open.
    var pieceFloor: UInt64 = 0
    var compressionScratch: [UInt8] = []
    var rawScratch = ByteWriter()

    let readHandles = Mutex<[String: SegmentReadHandle]>([:])
    /// Set while a maintenance pass runs; a second one gets `.busy`.
    let maintenanceRunning = Atomic<Bool>(false)
    let follow: Mutex<FollowState>

    init(directory: String, fileSystem: any FileSystem, limits: Limits, table: LMDBDatabase, environment: LMDBEnvironment, committedNextPosition: UInt64) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.limits = limits
        self.table = table
        self.environment = environment
        self.follow = Mutex(FollowState(committedNextPosition: committedNextPosition))
    }

    deinit {
        for handle in writeHandles.values { handle.close() }
    }

    func path(segment: UInt64, generation: UInt32) -> String {
        Path.join(directory, EpisodicFormat.segmentName(number: segment, generation: generation))
    }

    // MARK: Batch hooks (writer thread)

    /// Writes the batch's sealed blocks to their preallocated segments and cuts sealed segments to
    /// their end, then wakes followers. A failure here leaves the blocks readable from their LMDB
    /// pieces; the writer stops taking writes so the pieces are never deleted before a restart.
    func batchCommitted() throws(EngramError) {
        let work = batch
        batch = BatchWork()
        if let below = work.piecesDeletedBelow { pieceFloor = max(pieceFloor, below) }
        defer {
            if let state = work.lastState {
                activeSegment = state.activeSegment
                publish(committedNextPosition: state.nextPosition)
            }
        }
        for write in work.writes {
            guard let handle = writeHandles[write.segment] else {
                preconditionFailure("no write handle for episodic segment \(write.segment)")
            }
            try handle.write(write.bytes, at: Int64(write.offset))
            unsyncedSegments.insert(write.segment)
        }
        for truncation in work.truncations {
            guard let handle = writeHandles[truncation.segment] else {
                preconditionFailure("no write handle for sealed episodic segment \(truncation.segment)")
            }
            try handle.truncate(to: Int64(truncation.endOffset))
            unsyncedSegments.insert(truncation.segment)
        }
        for removed in work.removedFiles {
            evictReadHandle(segment: removed.segment, generation: removed.generation)
            try fileSystem.remove(path(segment: removed.segment, generation: removed.generation))
        }
        if !work.removedFiles.isEmpty { try fileSystem.syncDirectory(directory) }
    }

    /// Drops the batch's buffered blocks and removes the segment files it created: no byte of an
    /// aborted batch reaches a segment.
    func batchAborted() {
        let work = batch
        batch = BatchWork()
        for segment in work.createdSegments {
            writeHandles.removeValue(forKey: segment)?.close()
            try? fileSystem.remove(path(segment: segment, generation: 0))
        }
    }

    // MARK: Checkpoints and closing (writer thread)

    /// The segment files written since the last freeze, for the checkpoint thread to sync before
    /// LMDB records their blocks (docs/EPISODIC.md, "Durability"). The handles of sealed segments
    /// are given up with them, to be closed once synced: the writer never writes to a sealed
    /// segment again, and closing them here could race with a sync the checkpoint thread runs.
    /// Writer thread, when it freezes a buffer.
    func takeFilesForCheckpoint() -> [(handle: any FileHandle, closeAfter: Bool)] {
        var files: [(handle: any FileHandle, closeAfter: Bool)] = []
        for segment in unsyncedSegments.sorted() where segment == activeSegment {
            if let handle = writeHandles[segment] { files.append((handle, false)) }
        }
        for (segment, handle) in writeHandles.sorted(by: { $0.key < $1.key }) where segment != activeSegment {
            files.append((handle, true))
            writeHandles.removeValue(forKey: segment)
        }
        unsyncedSegments.removeAll()
        return files
    }

    /// Closes every file and ends every follower. After the writer's last checkpoint.
    func close() {
        for handle in writeHandles.values { handle.close() }
        writeHandles.removeAll()
        readHandles.withLock { $0.removeAll() }
        let waiters = follow.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Files

    /// Creates a segment file: preallocated to `Limits.episodicSegmentBytes`, header written,
    /// synced, and its directory entry synced, so blocks written into it later cannot fail for
    /// want of space and the file survives a crash. On failure nothing is left behind.
    func createSegmentFile(segment: UInt64, generation: UInt32, firstPosition: UInt64, byteCount: Int) throws(EngramError) -> any FileHandle {
        let path = path(segment: segment, generation: generation)
        return try fileSystem.createReserved(path, byteCount: Int64(byteCount), directory: directory) { (handle) throws(EngramError) in
            try handle.write(EpisodicSegmentHeader(number: segment, generation: generation, firstPosition: firstPosition).encoded(), at: 0)
        }
    }

    /// A shared read handle on a segment file, opened on first use.
    func readHandle(segment: UInt64, generation: UInt32) throws(EngramError) -> SegmentReadHandle {
        let path = path(segment: segment, generation: generation)
        if let handle = readHandles.withLock({ $0[path] }) { return handle }
        guard fileSystem.exists(path) else {
            throw EngramError.corrupt("episodic segment \(segment) generation \(generation) is missing", file: path, offset: 0)
        }
        let opened = SegmentReadHandle(try fileSystem.open(path, create: false))
        return readHandles.withLock { handles in
            if let existing = handles[path] { return existing }
            handles[path] = opened
            return opened
        }
    }

    /// Forgets the read handle of a file being removed; readers holding it finish with it.
    func evictReadHandle(segment: UInt64, generation: UInt32) {
        let path = path(segment: segment, generation: generation)
        _ = readHandles.withLock { $0.removeValue(forKey: path) }
    }

    // MARK: Followers

    func publish(committedNextPosition: UInt64) {
        let waiters = follow.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.committedNextPosition = committedNextPosition
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    var committedNextPosition: UInt64 { follow.withLock { $0.committedNextPosition } }
    var isClosed: Bool { follow.withLock { $0.closed } }

    /// Returns once an episode at `position` or later has committed, the log closed, or the task
    /// was cancelled.
    func waitForCommit(reaching position: UInt64) async {
        let id = follow.withLock { state -> UInt64? in
            if state.closed || state.committedNextPosition > position { return nil }
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = follow.withLock { state -> Bool in
                    if state.closed || state.committedNextPosition > position || state.cancelledWaiters.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = follow.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.cancelledWaiters.insert(id)
                return nil
            }
            waiter?.resume()
        }
        // A cancellation that raced with a commit may have left the id behind.
        follow.withLock { _ = $0.cancelledWaiters.remove(id) }
    }
}

/// A read-only handle shared by readers; closed when the last of them lets go, so a file removed
/// by retention stays readable by a read that already had it.
final class SegmentReadHandle: Sendable {
    let handle: any FileHandle

    init(_ handle: any FileHandle) { self.handle = handle }

    deinit { handle.close() }
}
