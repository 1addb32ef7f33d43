import FoundationEssentials

/// The LMDB databases of the records (docs/RECORDS.md, "Tables and keys"). Every key starts with
/// the namespace prefix, so a namespace is one key range in each.
struct RecordTables: Sendable {
    /// `ns id` → lead record.
    let leads: LMDBDatabase
    /// `ns folded_email` → id: the uniqueness index of emails.
    let leadEmails: LMDBDatabase
    /// `ns score_desc created_desc id` → empty.
    let leadScores: LMDBDatabase
    /// `ns status 0x00 score_desc created_desc id` → empty.
    let leadStatuses: LMDBDatabase
    /// `ns id` → campaign record.
    let campaigns: LMDBDatabase
    /// `ns status type 0x00 id` → empty.
    let campaignStatuses: LMDBDatabase
    /// `ns campaign_id time sequence` → event record.
    let campaignEvents: LMDBDatabase
    /// `ns campaign_id` → totals.
    let campaignSummaries: LMDBDatabase
    /// `ns campaign_id hour_start` → totals.
    let campaignHourly: LMDBDatabase

    static let names = [
        "leads", "lead_emails", "lead_scores", "lead_statuses", "campaigns", "campaign_statuses",
        "campaign_events", "campaign_summaries", "campaign_hourly",
    ]

    static func open(in environment: LMDBEnvironment, transaction: LMDBTransaction) throws(EngramError) -> RecordTables {
        RecordTables(
            leads: try environment.openDatabase("leads", in: transaction),
            leadEmails: try environment.openDatabase("lead_emails", in: transaction),
            leadScores: try environment.openDatabase("lead_scores", in: transaction),
            leadStatuses: try environment.openDatabase("lead_statuses", in: transaction),
            campaigns: try environment.openDatabase("campaigns", in: transaction),
            campaignStatuses: try environment.openDatabase("campaign_statuses", in: transaction),
            campaignEvents: try environment.openDatabase("campaign_events", in: transaction),
            campaignSummaries: try environment.openDatabase("campaign_summaries", in: transaction),
            campaignHourly: try environment.openDatabase("campaign_hourly", in: transaction))
    }

    /// Every table, for work that covers them all (a namespace erase, the consistency check).
    var all: [LMDBDatabase] {
        [leads, leadEmails, leadScores, leadStatuses, campaigns, campaignStatuses, campaignEvents, campaignSummaries, campaignHourly]
    }
}

/// Builds a key in a caller's buffer (on the stack); see `RecordKeys.with`.
struct KeyWriter {
    let buffer: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[..<count]) }

    mutating func append(_ byte: UInt8) {
        precondition(count < buffer.count, "key of more than \(buffer.count) bytes")
        buffer[count] = byte
        count += 1
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        precondition(count + bytes.count <= buffer.count, "key of more than \(buffer.count) bytes")
        if bytes.isEmpty { return }
        UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + bytes.count)]).copyMemory(from: bytes)
        count += bytes.count
    }

    mutating func append(namespace: Namespace) {
        append(UInt8(namespace.bytes.count))
        namespace.bytes.withUnsafeBytes { append($0) }
    }

    mutating func append(uuid: UUID) {
        withUnsafeBytes(of: uuid.uuid) { append($0) }
    }

    mutating func appendBigEndian(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { append($0) }
    }

    /// A text inside a key: its bytes, then the `0x00` terminator that keeps byte order equal to
    /// text order (texts hold no `0x00`).
    mutating func append(terminatedText bytes: UnsafeRawBufferPointer) {
        append(bytes)
        append(0)
    }

    mutating func append(foldedEmail bytes: UnsafeRawBufferPointer) {
        for byte in bytes { append(RecordText.folded(byte)) }
    }
}

/// The key encodings of docs/RECORDS.md, "Order-preserving key encodings".
enum RecordKeys {
    /// LMDB's largest key; every record key is built in a buffer this size.
    static let bufferBytes = Limits.lmdbKeyBytesMax
    /// What a status index key adds after the status: terminator, score, created, id.
    static let statusKeySuffixBytes = 1 + 1 + 8 + 16

    /// Builds a key with `build` in a stack buffer and calls `body` with it.
    static func with<Result>(_ build: (inout KeyWriter) -> Void, _ body: (UnsafeRawBufferPointer) throws(EngramError) -> Result) throws(EngramError) -> Result {
        try withUnsafeTemporaryAllocation(byteCount: bufferBytes, alignment: 1) { (buffer) throws(EngramError) -> Result in
            var writer = KeyWriter(buffer)
            build(&writer)
            return try body(writer.bytes)
        }
    }

    static func scoreDescending(_ score: UInt8) -> UInt8 { 255 - score }
    static func score(fromDescending byte: UInt8) -> UInt8 { 255 - byte }
    static func createdDescending(_ createdAt: Int64) -> UInt64 { ~UInt64(createdAt) }
    static func createdAt(fromDescending value: UInt64) -> Int64 { Int64(bitPattern: ~value) }

    /// `score_desc created_desc id`, the tail of both lead score indexes.
    static func appendScoreTail(_ writer: inout KeyWriter, score: UInt8, createdAt: Int64, id: UnsafeRawBufferPointer) {
        writer.append(scoreDescending(score))
        writer.appendBigEndian(createdDescending(createdAt))
        writer.append(id)
    }
}

/// Reading keys back: the fixed-width tails of index keys.
extension UnsafeRawBufferPointer {
    func bigEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[range])
    }
}
