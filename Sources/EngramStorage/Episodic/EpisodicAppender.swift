/// Applying appended records: blocks, segments, indexes and agent rows, all in the batch's LMDB
/// transaction (docs/EPISODIC.md, "Appending"). Writer thread only; the same code runs in replay.
extension EpisodicLog {
    func readState(_ transaction: StoreTransaction, _ table: LMDBDatabase) throws(EngramError) -> EpisodicState {
        try transaction.episodicRow(table, EpisodicKey.stateKey, as: EpisodicState.self) ?? EpisodicState()
    }

    func readAgent(namespace: [UInt8], agent: [UInt8], in transaction: StoreTransaction, _ table: LMDBDatabase) throws(EngramError) -> EpisodicAgentRow? {
        try transaction.episodicRow(table, Self.agentKey(namespace: namespace, agent: agent), as: EpisodicAgentRow.self)
    }

    static func agentKey(namespace: [UInt8], agent: [UInt8]) -> [UInt8] {
        namespace.withUnsafeBytes { name in
            agent.withUnsafeBytes { agent in EpisodicKey.agentPrefix(EpisodicKey.agent, namespace: name, agent: agent).bytes }
        }
    }

    /// Appends whole, numbered records. Checks each against the state before believing it: in
    /// replay a mismatch means the log and LMDB disagree, which is `.corrupt`.
    func append(_ records: UnsafeRawBufferPointer, recordCount: Int, in context: inout WriteContext) throws(EngramError) {
        context.enlist(self)
        let transaction = context.transaction
        var state = try readState(transaction, table)
        if !batch.started {
            batch.started = true
            try deletePieces(below: state.openBlock, transaction)
        }
        var agents: [[UInt8]: EpisodicAgentRow] = [:]
        var piece = ByteWriter(capacity: records.count)
        var pieceStart: UInt64 = 0
        var offset = 0
        var count = 0
        while offset < records.count {
            let record = try EpisodeRecordView.parse(records, at: offset, file: "an episode append operation", fileOffset: 0)
            func mismatch(_ what: String) -> EngramError {
                EngramError(.corrupt, "episode record at position \(record.position): \(what); the commit log and the episodic state disagree")
            }
            guard record.position == state.nextPosition else { throw mismatch("the next position is \(state.nextPosition)") }
            let agentKey = EpisodicKey.agentPrefix(EpisodicKey.agent, namespace: record.namespace, agent: record.agent).bytes
            var agent: EpisodicAgentRow
            if let known = agents[agentKey] {
                agent = known
            } else {
                agent = try transaction.episodicRow(table, agentKey, as: EpisodicAgentRow.self) ?? EpisodicAgentRow()
            }
            guard record.sequence == agent.lastSequence + 1 else { throw mismatch("sequence \(record.sequence), the agent's next is \(agent.lastSequence + 1)") }
            guard record.timestampMicroseconds >= agent.lastTimestamp else { throw mismatch("timestamp \(record.timestampMicroseconds) before the agent's last, \(agent.lastTimestamp)") }
            let recordBytes = record.record.count
            if state.openBlock != 0 && Int(state.openRawBytes) + recordBytes > limits.episodicBlockBytes {
                try putPiece(&piece, start: pieceStart, transaction)
                try sealBlock(&state, transaction)
            }
            if state.openBlock == 0 {
                try openBlock(at: record.position, &state, transaction)
            }
            if piece.count == 0 { pieceStart = record.position }
            piece.write(contentsOf: record.record)
            if agent.lastBlock != state.openBlock {
                try putIndexEntries(record, block: state.openBlock, transaction)
                agent.lastBlock = state.openBlock
            }
            agent.lastSequence = record.sequence
            agent.lastTimestamp = record.timestampMicroseconds
            agent.lastPosition = record.position
            agents[agentKey] = agent
            state.nextPosition += 1
            state.openRawBytes += UInt32(recordBytes)
            state.openRecordCount += 1
            state.openMinTimestamp = min(state.openMinTimestamp, record.timestampMicroseconds)
            state.openMaxTimestamp = max(state.openMaxTimestamp, record.timestampMicroseconds)
            offset += recordBytes
            count += 1
        }
        guard count == recordCount else {
            throw EngramError(.corrupt, "an episode append operation holds \(count) records but says \(recordCount)")
        }
        try putPiece(&piece, start: pieceStart, transaction)
        for (key, row) in agents { try put(key, row.encoded(), transaction) }
        try put(EpisodicKey.stateKey, state.encoded(), transaction)
        batch.lastState = state
    }

    /// Seals the open block (if any) and the active segment, and starts the next segment at the
    /// next position, so every record so far is in a sealed segment that a filtered rewrite can
    /// take (docs/LIFECYCLE.md, operation 8). Like an append, the batch's first episodic operation
    /// deletes the pieces of blocks sealed in earlier batches.
    func sealActiveSegment(_ segment: UInt64, in context: inout WriteContext) throws(EngramError) {
        context.enlist(self)
        let transaction = context.transaction
        var state = try readState(transaction, table)
        guard state.activeSegment == segment, segment != 0 else {
            throw EngramError(.corrupt, "an episodic seal names segment \(segment), but the active segment is \(state.activeSegment)")
        }
        if !batch.started {
            batch.started = true
            try deletePieces(below: state.openBlock, transaction)
        }
        if state.openBlock != 0 { try sealBlock(&state, transaction) }
        _ = try roll(from: try segmentRow(segment, transaction), firstPosition: state.nextPosition, &state, transaction)
        try put(EpisodicKey.stateKey, state.encoded(), transaction)
        batch.lastState = state
    }

    // MARK: Blocks

    /// Seals the open block: its raw records are its LMDB pieces; compresses them, records the
    /// block's row and the segment's new end, and queues the bytes for the after-commit write.
    /// The pieces stay until the next batch, for readers of this transaction's snapshot.
    private func sealBlock(_ state: inout EpisodicState, _ transaction: StoreTransaction) throws(EngramError) {
        rawScratch.removeAll()
        try gatherPieces(from: state.openBlock, through: UInt64.max, transaction, into: &rawScratch)
        guard rawScratch.count == Int(state.openRawBytes) else {
            throw EngramError(.corrupt, "the open episodic block \(state.openBlock) has \(rawScratch.count) bytes of pieces, its state says \(state.openRawBytes)")
        }
        let lastPosition = state.nextPosition - 1
        let block = rawScratch.bytes.withUnsafeBytes { raw in
            EpisodicBlock.encode(raw: raw, recordCount: Int(state.openRecordCount), firstPosition: state.openBlock, lastPosition: lastPosition, compression: .lz4, scratch: &compressionScratch)
        }
        var segment = try segmentRow(state.activeSegment, transaction)
        let row = EpisodicBlockRow(
            segment: state.activeSegment, offset: segment.endOffset,
            storedBytes: UInt32(block.count - EpisodicFormat.blockHeaderBytes), rawBytes: state.openRawBytes,
            codec: block[12], recordCount: state.openRecordCount, lastPosition: lastPosition,
            minTimestamp: state.openMinTimestamp, maxTimestamp: state.openMaxTimestamp)
        precondition(Int(segment.endOffset) + block.count <= limits.episodicSegmentBytes, "block of \(block.count) bytes at \(segment.endOffset) passes the segment's \(limits.episodicSegmentBytes) bytes")
        try put(EpisodicKey.numbered(EpisodicKey.block, state.openBlock), row.encoded(), transaction)
        segment.endOffset += UInt64(block.count)
        segment.blockCount += 1
        segment.minTimestamp = min(segment.minTimestamp, state.openMinTimestamp)
        segment.maxTimestamp = max(segment.maxTimestamp, state.openMaxTimestamp)
        try put(EpisodicKey.numbered(EpisodicKey.segment, state.activeSegment), segment.encoded(), transaction)
        batch.writes.append(PendingWrite(segment: state.activeSegment, offset: row.offset, bytes: block))
        state.openBlock = 0
        state.openRawBytes = 0
        state.openRecordCount = 0
    }

    /// Opens a block whose first record is at `position`, in the active segment if the largest
    /// block could still fit there, otherwise in a new segment.
    private func openBlock(at position: UInt64, _ state: inout EpisodicState, _ transaction: StoreTransaction) throws(EngramError) {
        var segment: EpisodicSegmentRow? = state.activeSegment == 0 ? nil : try segmentRow(state.activeSegment, transaction)
        let blockBytesMax = EpisodicFormat.blockBytesMax(rawBytes: limits.episodicBlockBytes)
        if segment == nil || Int(segment!.endOffset) + blockBytesMax > limits.episodicSegmentBytes {
            segment = try roll(from: segment, firstPosition: position, &state, transaction)
        }
        let row = EpisodicBlockRow(
            segment: state.activeSegment, offset: segment!.endOffset, storedBytes: 0, rawBytes: 0,
            codec: EpisodicFormat.openBlockCodec, recordCount: 0, lastPosition: 0, minTimestamp: 0, maxTimestamp: 0)
        try put(EpisodicKey.numbered(EpisodicKey.block, position), row.encoded(), transaction)
        state.openBlock = position
        state.openRawBytes = 0
        state.openRecordCount = 0
        state.openMinTimestamp = .max
        state.openMaxTimestamp = .min
    }

    /// Seals the active segment (it is cut to its last block after the commit) and creates the
    /// next one, file and all, before anything commits: a failure fails the batch.
    private func roll(from previous: EpisodicSegmentRow?, firstPosition: UInt64, _ state: inout EpisodicState, _ transaction: StoreTransaction) throws(EngramError) -> EpisodicSegmentRow {
        if var previous {
            previous.sealed = true
            try put(EpisodicKey.numbered(EpisodicKey.segment, state.activeSegment), previous.encoded(), transaction)
            batch.truncations.append((state.activeSegment, previous.endOffset))
        }
        let number = state.activeSegment + 1
        let handle = try createSegmentFile(segment: number, generation: 0, firstPosition: firstPosition, byteCount: limits.episodicSegmentBytes)
        writeHandles[number] = handle
        batch.createdSegments.append(number)
        let row = EpisodicSegmentRow(
            firstPosition: firstPosition, generation: 0, sealed: false,
            endOffset: UInt64(EpisodicFormat.segmentHeaderBytes), blockCount: 0, minTimestamp: .max, maxTimestamp: .min)
        try put(EpisodicKey.numbered(EpisodicKey.segment, number), row.encoded(), transaction)
        state.activeSegment = number
        return row
    }

    // MARK: Rows and pieces

    func segmentRow(_ number: UInt64, _ transaction: StoreTransaction) throws(EngramError) -> EpisodicSegmentRow {
        guard let row = try transaction.episodicRow(table, EpisodicKey.numbered(EpisodicKey.segment, number), as: EpisodicSegmentRow.self) else {
            throw EngramError(.corrupt, "the episodic state names segment \(number), which has no row")
        }
        return row
    }

    private func putIndexEntries(_ record: EpisodeRecordView, block: UInt64, _ transaction: StoreTransaction) throws(EngramError) {
        let value = withUnsafeBytes(of: block.littleEndian) { Array($0) }
        try put(EpisodicKey.sequenceIndex(namespace: record.namespace, agent: record.agent, sequence: record.sequence), value, transaction)
        try put(EpisodicKey.timeIndex(namespace: record.namespace, agent: record.agent, timestampMicroseconds: record.timestampMicroseconds, sequence: record.sequence), value, transaction)
    }

    private func putPiece(_ piece: inout ByteWriter, start: UInt64, _ transaction: StoreTransaction) throws(EngramError) {
        guard piece.count > 0 else { return }
        try put(EpisodicKey.numbered(EpisodicKey.piece, start), piece.bytes, transaction)
        piece.removeAll()
    }

    /// Appends the pieces with addresses in `first...last` to `raw`, in order.
    func gatherPieces(from first: UInt64, through last: UInt64, _ transaction: StoreTransaction, into raw: inout ByteWriter) throws(EngramError) {
        let table = self.table
        try transaction.withCursor(table) { (cursor) throws(EngramError) in
            var entry = try EpisodicKey.numbered(EpisodicKey.piece, first).withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key.count == 9, current.key[0] == EpisodicKey.piece,
                  EpisodicKey.number(of: current.key) <= last {
                raw.write(contentsOf: current.value)
                entry = try cursor.next()
            }
        }
    }

    /// Deletes the pieces of blocks sealed in earlier batches: their files have them now. Pieces
    /// are numbered by the position they start at, and none is made below the open block, so
    /// none is left below `pieceFloor`, where the scan starts.
    private func deletePieces(below address: UInt64, _ transaction: StoreTransaction) throws(EngramError) {
        let table = self.table
        batch.piecesDeletedBelow = address
        try transaction.withCursor(table) { (cursor) throws(EngramError) in
            var entry = try EpisodicKey.numbered(EpisodicKey.piece, pieceFloor).withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key.count == 9, current.key[0] == EpisodicKey.piece,
                  EpisodicKey.number(of: current.key) < address {
                // The entry's bytes are invalid once deleted; seek on from a copy of its number.
                let next = EpisodicKey.numbered(EpisodicKey.piece, EpisodicKey.number(of: current.key) + 1)
                try cursor.deleteCurrent()
                entry = try next.withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            }
        }
    }

    func put(_ key: [UInt8], _ value: [UInt8], _ transaction: StoreTransaction) throws(EngramError) {
        try key.withBytes { (key) throws(EngramError) in
            try value.withBytes { (value) throws(EngramError) in try transaction.put(table, key, value) }
        }
    }
}
