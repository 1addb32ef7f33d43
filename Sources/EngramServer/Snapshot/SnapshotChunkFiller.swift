import EngramProtocol
import EngramStorage
import NIOCore

/// Writes the rows of one chunk of one stream into a response body, straight from the snapshot's
/// LMDB pages (docs/PROTOCOL.md, "Streams"). Runs on the connection's event loop; every loop it
/// makes is bounded by the chunk's byte budget or its examination budget.
struct SnapshotChunkFiller {
    let snapshot: StoreSnapshot
    let namespace: Namespace
    let chunkBytesMax: Int
    let examineCountMax: Int
    let examineBytesMax: Int

    /// Rows written and their bytes so far.
    private(set) var rowCount = 0
    private var rowBytes = 0

    init(snapshot: StoreSnapshot, namespace: Namespace, limits: ServerLimits) {
        self.snapshot = snapshot
        self.namespace = namespace
        self.chunkBytesMax = limits.snapshotChunkBytesMax
        self.examineCountMax = limits.snapshotChunkExamineCountMax
        self.examineBytesMax = limits.snapshotChunkExamineBytesMax
    }

    /// Whether a row of `byteCount` bytes (after its length) still fits: the first row always does.
    private func fits(_ byteCount: Int) -> Bool {
        rowCount == 0 || rowBytes + 4 + byteCount <= chunkBytesMax
    }

    private mutating func beginRow(_ byteCount: Int, _ out: inout ByteBuffer) {
        out.writeInteger(UInt32(byteCount), endianness: .little)
        rowCount += 1
        rowBytes += 4 + byteCount
    }

    /// Fills `out` with the stream's next rows; returns whether the stream ended.
    mutating func fill(_ state: inout SnapshotStreamState, into out: inout ByteBuffer) throws(EngramError) -> Bool {
        switch state.stream {
        case .leads: try records(.leads, versionOffset: 20, &state, &out)
        case .campaigns: try records(.campaigns, versionOffset: 20, &state, &out)
        case .campaignMetricEvents: try records(.campaignEvents, versionOffset: 28, &state, &out)
        case .longTerm: try longTerm(&state, &out)
        case .semantic: try semantic(&state, &out)
        case .episodes: try episodes(&state, &out)
        case .leadIDs: try keys(.leads, &state, &out)
        case .campaignIDs: try keys(.campaigns, &state, &out)
        case .campaignMetricSequences: try sequences(&state, &out)
        case .longTermKeys: try keys(.longTerm, &state, &out)
        case .semanticIDs: try keys(.semantic, &state, &out)
        case .episodicRanges: try ranges(&state, &out)
        case .leadMonths: try months(&state, &out)
        case .rowCounts: try counts(&state, &out)
        }
        return state.isFinished
    }

    /// A version (or sequence) at `offset` of a stored value, checked for room first.
    private static func version(_ value: UnsafeRawBufferPointer, at offset: Int, _ table: SnapshotTable) throws(EngramError) -> UInt64 {
        guard value.count >= offset + 8 else { throw EngramError(.corrupt, "a stored \(table) value of \(value.count) bytes has no version at byte \(offset)") }
        return UInt64(littleEndian: value.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Leads, campaigns and metric events: the stored record is the row.
    private mutating func records(_ table: SnapshotTable, versionOffset: Int, _ state: inout SnapshotStreamState, _ out: inout ByteBuffer) throws(EngramError) {
        let since = state.since
        try snapshot.scan(table, namespace: namespace, cursor: &state.keys, examineCountMax: examineCountMax) { (_, value) throws(EngramError) -> SnapshotVisit in
            guard try Self.version(value, at: versionOffset, table) > since else { return .take }
            guard fits(value.count) else { return .stop }
            beginRow(value.count, &out)
            out.writeBytes(value)
            return .take
        }
        state.isFinished = state.keys.isFinished
    }

    /// `[u16 key length][key][u64 version][value]` from `[u8 format][u64 version][value]`.
    private mutating func longTerm(_ state: inout SnapshotStreamState, _ out: inout ByteBuffer) throws(EngramError) {
        let since = state.since
        try snapshot.scan(.longTerm, namespace: namespace, cursor: &state.keys, examineCountMax: examineCountMax) { (key, value) throws(EngramError) -> SnapshotVisit in
            guard try Self.version(value, at: 1, .longTerm) > since else { return .take }
            let byteCount = 2 + key.count + value.count - 1
            guard fits(byteCount) else { return .stop }
            beginRow(byteCount, &out)
            out.writeInteger(UInt16(key.count), endianness: .little)
            out.writeBytes(key)
            out.writeBytes(UnsafeRawBufferPointer(rebasing: value[1...]))
            return .take
        }
        state.isFinished = state.keys.isFinished
    }

    /// `[16-byte id][u64 version][fact]` from the key's id and `[u8 format][u64 version][fact]`.
    private mutating func semantic(_ state: inout SnapshotStreamState, _ out: inout ByteBuffer) throws(EngramError) {
        let since = state.since
        try snapshot.scan(.semantic, namespace: namespace, cursor: &state.keys, examineCountMax: examineCountMax) { (key, value) throws(EngramError) -> SnapshotVisit in
            guard try Self.version(value, at: 1, .semantic) > since else { return .take }
            let byteCount = key.count + value.count - 1
            guard fits(byteCount) else { return .stop }
            beginRow(byteCount, &out)
            out.writeBytes(key)
            out.writeBytes(UnsafeRawBufferPointer(rebasing: value[1...]))
            return .take
        }
        state.isFinished = state.keys.isFinished
    }

    /// Episode records after `since` (the cursor started there), as stored.
    private mutating func episodes(_ state: inout SnapshotStreamState, _ out: inout ByteBuffer) throws(EngramError) {
        try snapshot.scanEpisodes(namespace: namespace, cursor: &state.positions, examineBytesMax: examineBytesMax) { (_, record) throws(EngramError) -> SnapshotVisit in
            guard fits(record.count) else { return .stop }
            beginRow(record.count, &out)
            out.writeBytes(record)
            return .take
        }
        state.isFinished = state.positions.isFinished
    }

    /// Every key of the table (without the namespace prefix): 16-byte ids, or long-term keys.
    private mutating func keys(_ table: SnapshotTable, _ state: inout SnapshotStreamState, _ out: inout ByteBuffer) throws(EngramError) {
        try snapshot.scan(table, namespace: namespace, cursor: &state.keys, examineCountMax: examineCountMax) { (key, _) throws(EngramError) -> SnapshotVisit in
            guard fits(key.count) else { return .stop }
            beginRow(key.count, &out)
            out.writeBytes(key)
            return .take
        }
        state.isFinished = state.keys.isFinished
    }

    /// Every metric event's sequence, `[u64]`, from the key `campaign_id time:u64be sequence:u64be`.
    private mutating func sequences(_ state: inout SnapshotStreamState, _ out: inout ByteBuffer) throws(EngramError) {
        try snapshot.scan(.campaignEvents, namespace: namespace, cursor: &state.keys, examineCountMax: examineCountMax) { (key, _) throws(EngramError) -> SnapshotVisit in
            guard key.count == 32 else { throw EngramError(.corrupt, "a campaign_events key of \(key.count) bytes after its namespace, expected 32") }
            guard fits(8) else { return .stop }
            beginRow(8, &out)
            out.writeInteger(UInt64(bigEndian: key.loadUnaligned(fromByteOffset: 24, as: UInt64.self)), endianness: .little)
            return .take
        }
        state.isFinished = state.keys.isFinished
    }

    /// `[u64 first][u64 last]` ranges of positions present in the whole log, adjacent ones merged.
    private mutating func ranges(_ state: inout SnapshotStreamState, _ out: inout ByteBuffer) throws(EngramError) {
        var pending: ClosedRange<UInt64>?
        var collected: [ClosedRange<UInt64>] = []
        try snapshot.episodicRanges(cursor: &state.positions, blockCountMax: max(1, examineCountMax / 100)) { range in
            if let current = pending, current.upperBound + 1 == range.lowerBound {
                pending = current.lowerBound...range.upperBound
            } else {
                if let current = pending { collected.append(current) }
                pending = range
            }
        }
        if let pending { collected.append(pending) }
        // The rows are 16 bytes and a chunk looks at a bounded number of blocks, so they fit.
        for range in collected {
            beginRow(16, &out)
            out.writeInteger(range.lowerBound, endianness: .little)
            out.writeInteger(range.upperBound, endianness: .little)
        }
        state.isFinished = state.positions.isFinished
    }

    /// `[i64 month start]`, each month once.
    private mutating func months(_ state: inout SnapshotStreamState, _ out: inout ByteBuffer) throws(EngramError) {
        var found: [Int64] = []
        try snapshot.leadMonths(namespace: namespace, cursor: &state.months, seekCountMax: examineCountMax) { found.append($0) }
        for month in found where state.monthsSent.insert(month).inserted {
            beginRow(8, &out)
            out.writeInteger(month, endianness: .little)
        }
        state.isFinished = state.months.isFinished
    }

    /// `[u8 stream][u64 count]` for each row stream but episodes, as each table's count finishes.
    private mutating func counts(_ state: inout SnapshotStreamState, _ out: inout ByteBuffer) throws(EngramError) {
        var examined = 0
        while state.countedTableIndex < SnapshotStreamState.countedTables.count && examined < examineCountMax {
            let (table, stream) = SnapshotStreamState.countedTables[state.countedTableIndex]
            var counted: UInt64 = 0
            try snapshot.scan(table, namespace: namespace, cursor: &state.keys, examineCountMax: examineCountMax - examined) { (_, _) throws(EngramError) -> SnapshotVisit in
                counted += 1
                return .take
            }
            examined += Int(counted)
            state.countSoFar += counted
            guard state.keys.isFinished else { break }
            beginRow(9, &out)
            out.writeInteger(stream.rawValue)
            out.writeInteger(state.countSoFar, endianness: .little)
            state.countedTableIndex += 1
            state.countSoFar = 0
            state.keys = SnapshotKeyCursor()
        }
        state.isFinished = state.countedTableIndex == SnapshotStreamState.countedTables.count
    }
}
