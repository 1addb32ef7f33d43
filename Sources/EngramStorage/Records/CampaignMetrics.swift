import FoundationEssentials

/// One observation of a campaign's results (docs/RECORDS.md, "Campaign metric event").
public struct CampaignMetricEvent: Sendable, Equatable {
    public var campaignID: UUID
    /// When the observation was made, microseconds since 1970.
    public var timeMicroseconds: Int64
    /// Given by the store at append (unique, increasing); 0 in a request.
    public var sequence: UInt64
    public var sent: UInt32
    public var opened: UInt32
    public var clicked: UInt32
    public var converted: UInt32

    public init(campaignID: UUID, timeMicroseconds: Int64, sequence: UInt64 = 0, sent: UInt32, opened: UInt32, clicked: UInt32, converted: UInt32) {
        self.campaignID = campaignID
        self.timeMicroseconds = timeMicroseconds
        self.sequence = sequence
        self.sent = sent
        self.opened = opened
        self.clicked = clicked
        self.converted = converted
    }

    /// The 52-byte record, as stored and as sent on the wire.
    public var record: [UInt8] {
        var writer = ByteWriter(capacity: MetricEventLayout.bytes)
        MetricEventLayout.encode(self, into: &writer)
        return writer.bytes
    }

    public init(record: [UInt8]) throws(EngramError) {
        self = try record.withBytes { (bytes) throws(EngramError) in try MetricEventLayout.decode(bytes, source: "a metric event record") }
    }
}

/// Sums of metric events: a campaign's performance summary or one hour's bucket.
public struct CampaignTotals: Sendable, Equatable {
    public var eventCount: UInt64 = 0
    public var sent: UInt64 = 0
    public var opened: UInt64 = 0
    public var clicked: UInt64 = 0
    public var converted: UInt64 = 0

    public init(eventCount: UInt64 = 0, sent: UInt64 = 0, opened: UInt64 = 0, clicked: UInt64 = 0, converted: UInt64 = 0) {
        self.eventCount = eventCount
        self.sent = sent
        self.opened = opened
        self.clicked = clicked
        self.converted = converted
    }

    /// `opened / sent`, 0 when nothing was sent.
    public var openRate: Double { Self.rate(opened, sent) }
    /// `clicked / sent`, 0 when nothing was sent.
    public var clickRate: Double { Self.rate(clicked, sent) }
    /// `converted / sent`, 0 when nothing was sent.
    public var conversionRate: Double { Self.rate(converted, sent) }

    static func rate(_ part: UInt64, _ whole: UInt64) -> Double { whole == 0 ? 0 : Double(part) / Double(whole) }

    /// Adds one event; false (and unchanged) if any total would pass 2^64 - 1.
    mutating func add(_ event: CampaignMetricEvent) -> Bool {
        var result = self
        var overflow = false
        func add(_ total: inout UInt64, _ amount: UInt64) {
            let (sum, over) = total.addingReportingOverflow(amount)
            total = sum
            overflow = overflow || over
        }
        add(&result.eventCount, 1)
        add(&result.sent, UInt64(event.sent))
        add(&result.opened, UInt64(event.opened))
        add(&result.clicked, UInt64(event.clicked))
        add(&result.converted, UInt64(event.converted))
        if overflow { return false }
        self = result
        return true
    }

    /// Removes one event; false (and unchanged) if any total would go below zero.
    mutating func subtract(_ event: CampaignMetricEvent) -> Bool {
        var result = self
        var underflow = false
        func subtract(_ total: inout UInt64, _ amount: UInt64) {
            let (difference, under) = total.subtractingReportingOverflow(amount)
            total = difference
            underflow = underflow || under
        }
        subtract(&result.eventCount, 1)
        subtract(&result.sent, UInt64(event.sent))
        subtract(&result.opened, UInt64(event.opened))
        subtract(&result.clicked, UInt64(event.clicked))
        subtract(&result.converted, UInt64(event.converted))
        if underflow { return false }
        self = result
        return true
    }
}

/// `format:u8 = 1, reserved:3, campaign_id:16, time:i64, sequence:u64, sent, opened, clicked,
/// converted: u32`, 52 bytes.
enum MetricEventLayout {
    static let formatVersion: UInt8 = 1
    static let bytes = 52
    /// One UTC hour in microseconds: the width of an hourly bucket.
    static let hourMicroseconds: Int64 = 3_600_000_000

    static func hourStart(_ time: Int64) -> Int64 { time - time % hourMicroseconds }

    static func encode(_ event: CampaignMetricEvent, into writer: inout ByteWriter) {
        writer.write(formatVersion)
        writer.write(UInt8(0))
        writer.write(UInt16(0))
        writer.write(contentsOf: event.campaignID.bytes)
        writer.write(event.timeMicroseconds)
        writer.write(event.sequence)
        writer.write(event.sent)
        writer.write(event.opened)
        writer.write(event.clicked)
        writer.write(event.converted)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, source: String) throws(EngramError) -> CampaignMetricEvent {
        var reader = ByteReader(bytes, source: source)
        guard bytes.count == Self.bytes else { throw reader.failure("a metric event of \(bytes.count) bytes, expected \(Self.bytes)") }
        let format = try reader.readUInt8("the event format")
        guard format == formatVersion else { throw reader.failure("metric event format \(format), expected \(formatVersion)") }
        let reservedLow = try reader.readUInt8("the reserved bytes")
        let reservedHigh = try reader.read(UInt16.self, "the reserved bytes")
        guard reservedLow == 0 && reservedHigh == 0 else { throw reader.failure("a metric event's reserved bytes must be zero") }
        let campaignID = UUID(bytes: try reader.readSlice(16, "the campaign id"))
        let time = try reader.read(Int64.self, "the time")
        let sequence = try reader.read(UInt64.self, "the sequence")
        return CampaignMetricEvent(campaignID: campaignID, timeMicroseconds: time, sequence: sequence,
                                   sent: try reader.read(UInt32.self, "sent"), opened: try reader.read(UInt32.self, "opened"),
                                   clicked: try reader.read(UInt32.self, "clicked"), converted: try reader.read(UInt32.self, "converted"))
    }
}

/// `format:u8 = 1, reserved:7, event_count, sent, opened, clicked, converted: u64`, 48 bytes.
enum TotalsLayout {
    static let formatVersion: UInt8 = 1
    static let bytes = 48

    static func encode(_ totals: CampaignTotals, into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count == bytes, "a totals buffer of \(buffer.count) bytes")
        buffer.storeBytes(of: UInt64(formatVersion).littleEndian, toByteOffset: 0, as: UInt64.self)
        for (index, value) in [totals.eventCount, totals.sent, totals.opened, totals.clicked, totals.converted].enumerated() {
            buffer.storeBytes(of: value.littleEndian, toByteOffset: 8 + index * 8, as: UInt64.self)
        }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, source: String) throws(EngramError) -> CampaignTotals {
        var reader = ByteReader(bytes, source: source)
        guard bytes.count == Self.bytes else { throw reader.failure("totals of \(bytes.count) bytes, expected \(Self.bytes)") }
        let format = try reader.readUInt8("the totals format")
        guard format == formatVersion else { throw reader.failure("totals format \(format), expected \(formatVersion)") }
        for _ in 0..<7 {
            guard try reader.readUInt8("the reserved bytes") == 0 else { throw reader.failure("the totals' reserved bytes must be zero") }
        }
        return CampaignTotals(eventCount: try reader.read(UInt64.self, "event_count"), sent: try reader.read(UInt64.self, "sent"),
                              opened: try reader.read(UInt64.self, "opened"), clicked: try reader.read(UInt64.self, "clicked"),
                              converted: try reader.read(UInt64.self, "converted"))
    }

    /// The totals record's bytes, for tests and the wire.
    static func record(_ totals: CampaignTotals) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.bytes)
        bytes.withUnsafeMutableBytes { encode(totals, into: $0) }
        return bytes
    }
}

/// The keys of the metric tables.
enum MetricKeys {
    /// `ns campaign_id`: a campaign's summary key, and the prefix of its events and buckets.
    static func appendCampaign(_ writer: inout KeyWriter, _ namespace: Namespace, _ campaignID: UUID) {
        writer.append(namespace: namespace)
        writer.append(uuid: campaignID)
    }

    /// `ns campaign_id time sequence`.
    static func appendEvent(_ writer: inout KeyWriter, _ namespace: Namespace, _ event: CampaignMetricEvent) {
        appendCampaign(&writer, namespace, event.campaignID)
        writer.appendBigEndian(UInt64(event.timeMicroseconds))
        writer.appendBigEndian(event.sequence)
    }

    /// `ns campaign_id hour_start`.
    static func appendHour(_ writer: inout KeyWriter, _ namespace: Namespace, _ campaignID: UUID, hourStart: Int64) {
        appendCampaign(&writer, namespace, campaignID)
        writer.appendBigEndian(UInt64(hourStart))
    }
}
