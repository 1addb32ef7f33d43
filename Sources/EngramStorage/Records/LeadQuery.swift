import FoundationEssentials

/// A lead query (docs/RECORDS.md, "Lead query"): leads with a score of at least `scoreMin`,
/// created at or after `createdAtOrAfterMicroseconds`, optionally of one status and one source, in
/// one of two total orders, a page of at most `limit` at a time.
public struct LeadQuery: Sendable, Equatable {
    public enum Order: UInt8, Sendable, Equatable {
        /// Score descending, then created_at descending, then id ascending.
        case scoreThenNewest = 1
        /// created_at descending, then score descending, then id ascending.
        case newest = 2
    }

    /// 0 to 100.
    public var scoreMin: Int
    /// 0 or less: no time filter.
    public var createdAtOrAfterMicroseconds: Int64
    public var status: String?
    public var source: String?
    public var order: Order
    /// Leads in a page; capped at `Limits.recordPageCountMax`.
    public var limit: Int
    /// Where the previous page ended; nil for the first page.
    public var cursor: LeadCursor?

    public init(scoreMin: Int = 0, createdAtOrAfterMicroseconds: Int64 = 0, status: String? = nil, source: String? = nil, order: Order = .scoreThenNewest, limit: Int, cursor: LeadCursor? = nil) {
        self.scoreMin = scoreMin
        self.createdAtOrAfterMicroseconds = createdAtOrAfterMicroseconds
        self.status = status
        self.source = source
        self.order = order
        self.limit = limit
        self.cursor = cursor
    }
}

/// A position in a lead query's order: the next page starts strictly after it. Clients treat it
/// as opaque and pass it back; `bytes` is its 27-byte wire form.
public struct LeadCursor: Sendable, Hashable {
    public let order: LeadQuery.Order
    public let score: Int
    public let createdAtMicroseconds: Int64
    public let id: UUID

    public init(order: LeadQuery.Order, score: Int, createdAtMicroseconds: Int64, id: UUID) {
        self.order = order
        self.score = score
        self.createdAtMicroseconds = createdAtMicroseconds
        self.id = id
    }

    static let formatVersion: UInt8 = 1
    static let byteCount = 27

    /// `format:u8 = 1, order:u8, score:u8, created_at:i64, id:uuid`.
    public var bytes: [UInt8] {
        var writer = ByteWriter(capacity: Self.byteCount)
        writer.write(Self.formatVersion)
        writer.write(order.rawValue)
        writer.write(UInt8(clamping: score))
        writer.write(createdAtMicroseconds)
        writer.write(contentsOf: id.bytes)
        return writer.bytes
    }

    public init(bytes: [UInt8]) throws(EngramError) {
        guard bytes.count == Self.byteCount else { throw EngramError(.invalidArgument, "a lead cursor is \(Self.byteCount) bytes, got \(bytes.count)") }
        guard bytes[0] == Self.formatVersion else { throw EngramError(.invalidArgument, "lead cursor format \(bytes[0]), expected \(Self.formatVersion)") }
        guard let order = LeadQuery.Order(rawValue: bytes[1]) else { throw EngramError(.invalidArgument, "lead cursor order \(bytes[1]) is unknown") }
        guard bytes[2] <= LeadLayout.scoreMax else { throw EngramError(.invalidArgument, "lead cursor score \(bytes[2]) is over \(LeadLayout.scoreMax)") }
        self.order = order
        score = Int(bytes[2])
        createdAtMicroseconds = bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: 3, as: Int64.self)) }
        id = bytes.withUnsafeBytes { UUID(bytes: $0.slice(11..<27)) }
    }
}

/// One page of a lead query. When `next` is nil the query is complete; otherwise pass it as the
/// next query's cursor (the next page may be empty only when the examination bound cut this one).
public struct LeadPage: Sendable, Equatable {
    public let leads: [Lead]
    public let next: LeadCursor?
}

/// A lead's place in both query orders, with the id as two big-endian halves so that comparing
/// them compares the id's bytes.
struct LeadPosition: Equatable {
    let score: UInt8
    let createdAt: Int64
    let idHigh: UInt64
    let idLow: UInt64

    /// From an index key's 25-byte tail: `score_desc created_desc id`.
    init(indexTail tail: UnsafeRawBufferPointer) {
        score = RecordKeys.score(fromDescending: tail[0])
        createdAt = RecordKeys.createdAt(fromDescending: tail.bigEndianUInt64(at: 1))
        idHigh = tail.bigEndianUInt64(at: 9)
        idLow = tail.bigEndianUInt64(at: 17)
    }

    init(_ cursor: LeadCursor) {
        score = UInt8(cursor.score)
        createdAt = cursor.createdAtMicroseconds
        let halves = withUnsafeBytes(of: cursor.id.uuid) { ($0.bigEndianUInt64(at: 0), $0.bigEndianUInt64(at: 8)) }
        idHigh = halves.0
        idLow = halves.1
    }

    var id: UUID {
        var bytes = (idHigh.bigEndian, idLow.bigEndian)
        return withUnsafeBytes(of: &bytes) { UUID(bytes: $0) }
    }

    func cursor(_ order: LeadQuery.Order) -> LeadCursor {
        LeadCursor(order: order, score: Int(score), createdAtMicroseconds: createdAt, id: id)
    }

    /// Whether `self` comes before `other` in the newest order.
    func isNewer(than other: LeadPosition) -> Bool {
        if createdAt != other.createdAt { return createdAt > other.createdAt }
        if score != other.score { return score > other.score }
        return (idHigh, idLow) < (other.idHigh, other.idLow)
    }

    /// `score_desc created_desc id`.
    func appendTail(_ writer: inout KeyWriter) {
        writer.append(RecordKeys.scoreDescending(score))
        writer.appendBigEndian(RecordKeys.createdDescending(createdAt))
        writer.appendBigEndian(idHigh)
        writer.appendBigEndian(idLow)
    }
}
