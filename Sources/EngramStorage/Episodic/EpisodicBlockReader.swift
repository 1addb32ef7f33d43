import FoundationEssentials

/// Reads blocks by address inside one LMDB read transaction, with buffers reused from block to
/// block. A block is read from its LMDB pieces while it has them (the open block, or one sealed in
/// the last batch) and from its segment file otherwise; every byte is checked before a record is
/// shown. Lives for one read call, on the caller's thread.
struct EpisodicBlockReader {
    let log: EpisodicLog
    let transaction: StoreTransaction
    private var raw: [UInt8] = []
    private var stored: [UInt8] = []
    private var pieces = ByteWriter()
    /// Leads being erased, each with the position below which its records are skipped: set by
    /// the public reads (docs/LIFECYCLE.md), empty for maintenance, which must see every record.
    var hiddenLeads: [UUID: UInt64] = [:]
    /// A snapshot's handles on the segment files it names, used before the log's shared ones so
    /// a file removed since the snapshot began stays readable (docs/EXPORT.md).
    var pinnedHandles: [String: SegmentReadHandle] = [:]

    init(log: EpisodicLog, transaction: StoreTransaction) {
        self.log = log
        self.transaction = transaction
    }

    func blockRow(_ address: UInt64) throws(EngramError) -> EpisodicBlockRow {
        guard let row = try transaction.episodicRow(log.table, EpisodicKey.numbered(EpisodicKey.block, address), as: EpisodicBlockRow.self) else {
            throw EngramError(.corrupt, "an episodic index entry names block \(address), which has no row")
        }
        return row
    }

    /// Calls `visit` with each record of the block at `address`, in position order, until it
    /// returns false. Returns the block's row.
    @discardableResult
    mutating func visitBlock(_ address: UInt64, _ visit: (EpisodeRecordView) throws(EngramError) -> Bool) throws(EngramError) -> EpisodicBlockRow {
        let row = try blockRow(address)
        // A block an erase emptied keeps its row and has no bytes (docs/LIFECYCLE.md).
        if row.recordCount == 0 && !row.isOpen { return row }
        let hidden = hiddenLeads
        var inPieces = row.isOpen
        if !inPieces { inPieces = try hasPiece(at: address) }
        if inPieces {
            pieces.removeAll()
            try log.gatherPieces(from: address, through: row.isOpen ? UInt64.max : row.lastPosition, transaction, into: &pieces)
            let header = EpisodicBlockHeader(storedBytes: pieces.count, rawBytes: pieces.count, codec: EpisodicFormat.Codec.stored.rawValue, recordCount: Int(row.recordCount), firstPosition: address, lastPosition: row.isOpen ? UInt64.max : row.lastPosition)
            try pieces.bytes.withBytes { (bytes) throws(EngramError) in
                try EpisodicBlock.forEachRecord(bytes, header: header, file: "the episodic table (block \(address))", offset: 0, countKnown: !row.isOpen) { (record) throws(EngramError) -> Bool in
                    try Self.isHidden(record, hidden) ? true : visit(record)
                }
            }
            return row
        }
        let segment = try log.segmentRow(row.segment, transaction)
        let path = log.path(segment: row.segment, generation: segment.generation)
        let handle: SegmentReadHandle
        if let pinned = pinnedHandles[path] { handle = pinned } else { handle = try log.readHandle(segment: row.segment, generation: segment.generation) }
        let blockBytes = EpisodicFormat.blockHeaderBytes + Int(row.storedBytes)
        try readFully(handle.handle, byteCount: blockBytes, at: Int64(row.offset), path: path)
        let offset = Int64(row.offset)
        let rawBytesMax = log.limits.episodicBlockBytes
        let header = try stored.withBytes { (bytes) throws(EngramError) -> EpisodicBlockHeader in
            try EpisodicBlock.decode(UnsafeRawBufferPointer(rebasing: bytes[0..<blockBytes]), file: path, offset: offset, rawBytesMax: rawBytesMax, raw: &raw)
        }
        guard header.firstPosition == address, header.lastPosition == row.lastPosition, header.recordCount == Int(row.recordCount) else {
            throw EngramError.corrupt("the block here holds positions \(header.firstPosition)...\(header.lastPosition) (\(header.recordCount) records); its row expects \(address)...\(row.lastPosition) (\(row.recordCount))", file: path, offset: offset)
        }
        try raw.withBytes { (bytes) throws(EngramError) in
            try EpisodicBlock.forEachRecord(bytes, header: header, file: path, offset: offset) { (record) throws(EngramError) -> Bool in
                try Self.isHidden(record, hidden) ? true : visit(record)
            }
        }
        return row
    }

    /// Whether an erase in progress hides `record` from this read.
    private static func isHidden(_ record: EpisodeRecordView, _ hidden: [UUID: UInt64]) -> Bool {
        guard !hidden.isEmpty, let lead = record.leadID, let before = hidden[lead] else { return false }
        return record.position < before
    }

    private func hasPiece(at address: UInt64) throws(EngramError) -> Bool {
        let table = log.table
        return try EpisodicKey.numbered(EpisodicKey.piece, address).withBytes { (key) throws(EngramError) in try transaction.get(table, key) } != nil
    }

    /// Reads exactly `byteCount` bytes into `stored`; a file that ends first is `.corrupt`.
    private mutating func readFully(_ handle: any FileHandle, byteCount: Int, at offset: Int64, path: String) throws(EngramError) {
        if stored.count < byteCount { stored.append(contentsOf: repeatElement(0, count: byteCount - stored.count)) }
        let result = stored.withUnsafeMutableBytes { buffer in
            Result { () throws(EngramError) -> Int in
                var total = 0
                while total < byteCount {
                    let part = try handle.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total..<byteCount]), at: offset + Int64(total))
                    if part == 0 { break }
                    total += part
                }
                return total
            }
        }
        let total = try result.get()
        guard total == byteCount else {
            throw EngramError.corrupt("a block of \(byteCount) bytes, but the file ends after \(total)", file: path, offset: offset)
        }
    }
}

extension EpisodeRecordView {
    /// Whether the record belongs to this namespace and agent, compared as bytes.
    func belongs(namespace: [UInt8], agent: [UInt8]) -> Bool {
        self.namespace.elementsEqual(namespace) && self.agent.elementsEqual(agent)
    }

    /// The bytes a read page counts for this record.
    var pageBytes: Int { record.count }
}
