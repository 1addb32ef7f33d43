import FoundationEssentials

/// The channel of a touch (docs/LIFECYCLE.md, "Event kinds"). Codes 3-255 are reserved.
public enum EngagementChannel: UInt8, Sendable, Equatable {
    case none = 0
    case email = 1
    case web = 2
}

/// What an episode kind counts as in a lead's engagement summary: the documented table of
/// well-known kinds (the vocabulary of `MarketingEventGenerator.Kind`). Unknown kinds count as
/// nothing, so an agent's own kinds cannot inflate touches.
public struct EngagementKind: Sendable, Equatable {
    public let isTouch: Bool
    public let isOpen: Bool
    public let isClick: Bool
    public let isConversion: Bool
    public let channel: EngagementChannel

    /// The meaning of `kind`, or nil when the fold ignores it.
    public static func of(_ kind: UInt16) -> EngagementKind? {
        switch kind {
        case 3: EngagementKind(isTouch: true, isOpen: false, isClick: false, isConversion: false, channel: .email) // email_sent
        case 4: EngagementKind(isTouch: true, isOpen: true, isClick: false, isConversion: false, channel: .email) // email_opened
        case 5: EngagementKind(isTouch: true, isOpen: false, isClick: true, isConversion: false, channel: .email) // email_clicked
        case 6: EngagementKind(isTouch: true, isOpen: false, isClick: false, isConversion: false, channel: .web) // page_viewed
        case 7: EngagementKind(isTouch: true, isOpen: false, isClick: false, isConversion: false, channel: .web) // form_submitted
        case 8: EngagementKind(isTouch: false, isOpen: false, isClick: false, isConversion: true, channel: .none) // converted
        default: nil // lead_created, lead_scored, decision_taken, and every kind the table does not name
        }
    }
}

/// A lead's engagement summary: what consolidation folded from its episodes.
public struct LeadEngagement: Sendable, Equatable {
    public var touches: UInt64 = 0
    public var opens: UInt64 = 0
    public var clicks: UInt64 = 0
    public var conversions: UInt64 = 0
    /// The latest touch's time (microseconds since 1970) and channel; 0 and `.none` before any.
    public var lastContactMicroseconds: Int64 = 0
    public var lastChannel: EngagementChannel = .none
    /// The position of the last episode folded in.
    public var lastPosition: UInt64 = 0

    public init(touches: UInt64 = 0, opens: UInt64 = 0, clicks: UInt64 = 0, conversions: UInt64 = 0, lastContactMicroseconds: Int64 = 0, lastChannel: EngagementChannel = .none, lastPosition: UInt64 = 0) {
        self.touches = touches
        self.opens = opens
        self.clicks = clicks
        self.conversions = conversions
        self.lastContactMicroseconds = lastContactMicroseconds
        self.lastChannel = lastChannel
        self.lastPosition = lastPosition
    }

    /// Folds one event in. Events must come in position order; returns false (and changes
    /// nothing) for a kind the table ignores. Of two touches with the same timestamp the later
    /// position wins, so the result depends only on the events.
    @discardableResult
    public mutating func fold(kind: UInt16, timestampMicroseconds: Int64, position: UInt64) -> Bool {
        guard let meaning = EngagementKind.of(kind) else { return false }
        precondition(position > lastPosition, "events folded out of order: position \(position) after \(lastPosition)")
        if meaning.isTouch {
            touches &+= 1
            if lastChannel == .none || timestampMicroseconds >= lastContactMicroseconds {
                lastContactMicroseconds = timestampMicroseconds
                lastChannel = meaning.channel
            }
        }
        if meaning.isOpen { opens &+= 1 }
        if meaning.isClick { clicks &+= 1 }
        if meaning.isConversion { conversions &+= 1 }
        lastPosition = position
        return true
    }
}

/// A lead's summary with its namespace-scoped identity, as a page of summaries returns it.
public struct LeadEngagementEntry: Sendable, Equatable {
    public let lead: UUID
    public let engagement: LeadEngagement
}

/// The stored summary (docs/LIFECYCLE.md, "`lead_engagement`"):
/// `format:u8 = 1 last_channel:u8 reserved:u8[6] touches:u64 opens:u64 clicks:u64
/// conversions:u64 last_contact_at:i64 last_position:u64`, 56 bytes.
enum LeadEngagementLayout {
    static let byteCount = 56
    /// A lead id and its summary, as a fold operation logs them.
    static let entryBytes = 16 + byteCount

    static func encode(_ engagement: LeadEngagement, into writer: inout ByteWriter) {
        writer.write(UInt8(1))
        writer.write(engagement.lastChannel.rawValue)
        writer.reserve(6)
        writer.write(engagement.touches)
        writer.write(engagement.opens)
        writer.write(engagement.clicks)
        writer.write(engagement.conversions)
        writer.write(engagement.lastContactMicroseconds)
        writer.write(engagement.lastPosition)
    }

    static func encoded(_ engagement: LeadEngagement) -> [UInt8] {
        var writer = ByteWriter(capacity: byteCount)
        encode(engagement, into: &writer)
        return writer.bytes
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> LeadEngagement {
        let format = try reader.readUInt8("the engagement format")
        guard format == 1 else { throw reader.failure("unknown lead engagement format \(format)") }
        let channelCode = try reader.readUInt8("the last channel")
        guard let channel = EngagementChannel(rawValue: channelCode) else { throw reader.failure("unknown engagement channel \(channelCode)") }
        for _ in 0..<6 {
            guard try reader.readUInt8("the reserved bytes") == 0 else { throw reader.failure("a lead engagement's reserved bytes must be zero") }
        }
        let engagement = LeadEngagement(
            touches: try reader.read(UInt64.self, "touches"), opens: try reader.read(UInt64.self, "opens"),
            clicks: try reader.read(UInt64.self, "clicks"), conversions: try reader.read(UInt64.self, "conversions"),
            lastContactMicroseconds: try reader.read(Int64.self, "last_contact_at"), lastChannel: channel,
            lastPosition: try reader.read(UInt64.self, "last_position"))
        guard (channel == .none) == (engagement.touches == 0) else {
            throw reader.failure("a lead engagement with \(engagement.touches) touches and last channel \(channel)")
        }
        return engagement
    }

    static func decode(_ value: UnsafeRawBufferPointer, source: String) throws(EngramError) -> LeadEngagement {
        var reader = ByteReader(value, source: source)
        guard value.count == byteCount else { throw reader.failure("a lead engagement of \(value.count) bytes, expected \(byteCount)") }
        return try decode(from: &reader)
    }

    /// `ns lead`.
    static func key(_ namespace: Namespace, _ lead: UUID) -> [UInt8] {
        [UInt8(namespace.bytes.count)] + namespace.bytes + lead.bytes
    }
}
