import NIOCore

/// Encoding and decoding of the records opcodes' bodies (docs/PROTOCOL.md, "Records").
enum RecordCodec {
    static func writeText(_ text: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(truncatingIfNeeded: text.utf8.count), endianness: .little)
        buffer.writeString(text)
    }

    static func readText(_ reader: inout BodyReader, _ field: @autoclosure () -> String) throws(ProtocolError) -> String {
        let length = Int(try reader.read(UInt16.self, "\(field()) length"))
        return try reader.readString(length, field())
    }

    static func checkFormat(_ reader: inout BodyReader, reservedBytes: Int, _ what: String) throws(ProtocolError) {
        let format = try reader.read(UInt8.self, "\(what) format")
        guard format == 1 else { throw reader.failure("\(what) format \(format) is not 1, the only format this side knows") }
        if reservedBytes > 0 {
            guard try reader.readBytes(reservedBytes, "\(what) reserved").allSatisfy({ $0 == 0 }) else { throw reader.failure("\(what) reserved bytes are not zero") }
        }
    }

    /// `[u32 length][record]`, decoded by `body` which must use the record exactly.
    static func readRecord<Record>(_ reader: inout BodyReader, _ what: String, _ body: (inout BodyReader) throws(ProtocolError) -> Record) throws(ProtocolError) -> Record {
        let length = Int(try reader.read(UInt32.self, "\(what) record length"))
        var record = BodyReader(try reader.readSlice(length, "\(what) record"), opcode: reader.opcode, requestID: reader.requestID)
        let decoded = try body(&record)
        guard record.remaining == 0 else { throw reader.failure("\(record.remaining) bytes after the \(what) record's last field") }
        return decoded
    }

    static func writeRecord(_ record: [UInt8], into buffer: inout ByteBuffer) {
        buffer.writeValue(record)
    }

    /// `[u32 length][record]` for a lead, written straight into the buffer.
    static func writeRecord(_ lead: WireLead, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(truncatingIfNeeded: lead.recordByteCount), endianness: .little)
        lead.writeRecord(into: &buffer)
    }

    static func writeOptionalText(_ text: String?, into buffer: inout ByteBuffer) {
        if let text {
            buffer.writeInteger(UInt8(1))
            writeText(text, into: &buffer)
        } else {
            buffer.writeInteger(UInt8(0))
        }
    }

    static func readOptionalText(_ reader: inout BodyReader, _ field: String) throws(ProtocolError) -> String? {
        let present = try reader.read(UInt8.self, "has \(field)")
        guard present <= 1 else { throw reader.failure("has \(field) is \(present), not 0 or 1") }
        return present == 1 ? try readText(&reader, field) : nil
    }

    static func writeCursor(_ cursor: WireCampaignCursor?, into buffer: inout ByteBuffer) {
        guard let cursor else {
            buffer.writeInteger(UInt8(0))
            return
        }
        buffer.writeInteger(UInt8(1))
        buffer.writeInteger(cursor.status.rawValue)
        writeText(cursor.type, into: &buffer)
        buffer.writeBytes(cursor.id.bytes)
    }

    static func readCursor(_ reader: inout BodyReader) throws(ProtocolError) -> WireCampaignCursor? {
        let present = try reader.read(UInt8.self, "has cursor")
        guard present <= 1 else { throw reader.failure("has cursor is \(present), not 0 or 1") }
        guard present == 1 else { return nil }
        let rawStatus = try reader.read(UInt8.self, "cursor status")
        guard let status = WireCampaignStatus(rawValue: rawStatus) else { throw reader.failure("cursor status \(rawStatus) is not 1 to 4") }
        return WireCampaignCursor(status: status, type: try readText(&reader, "cursor type"), id: WireUUID(bytes: try reader.readBytes(16, "cursor id")))
    }

    // MARK: Requests

    static func encodeLeadQuery(_ namespace: String, _ query: WireLeadQuery, into buffer: inout ByteBuffer) {
        buffer.writeNamespace(namespace)
        buffer.writeInteger(query.scoreMin)
        buffer.writeInteger(query.createdAtOrAfterMicroseconds, endianness: .little)
        writeOptionalText(query.status, into: &buffer)
        writeOptionalText(query.source, into: &buffer)
        buffer.writeInteger(query.order.rawValue)
        buffer.writeInteger(query.limit, endianness: .little)
        buffer.writeInteger(UInt8(truncatingIfNeeded: query.cursor?.count ?? 0))
        buffer.writeBytes(query.cursor ?? [])
    }

    static func decodeLeadQuery(_ reader: inout BodyReader) throws(ProtocolError) -> Request {
        let namespace = try reader.readNamespace()
        let scoreMin = try reader.read(UInt8.self, "score min")
        let since = try reader.read(Int64.self, "created at or after")
        let status = try readOptionalText(&reader, "status")
        let source = try readOptionalText(&reader, "source")
        let rawOrder = try reader.read(UInt8.self, "order")
        guard let order = WireLeadQuery.Order(rawValue: rawOrder) else { throw reader.failure("order is \(rawOrder), not 1 or 2") }
        let limit = try reader.read(UInt32.self, "limit")
        let cursorLength = Int(try reader.read(UInt8.self, "cursor length"))
        let cursor = cursorLength == 0 ? nil : try reader.readBytes(cursorLength, "cursor")
        return .leadQuery(namespace: namespace, query: WireLeadQuery(scoreMin: scoreMin, createdAtOrAfterMicroseconds: since, status: status, source: source, order: order, limit: limit, cursor: cursor))
    }

    static func encodeMetricAppend(_ namespace: String, _ events: [WireMetricEvent], into buffer: inout ByteBuffer) {
        buffer.writeNamespace(namespace)
        buffer.writeInteger(UInt16(truncatingIfNeeded: events.count), endianness: .little)
        for event in events { buffer.writeBytes(event.record) }
    }

    static func decodeMetricAppend(_ reader: inout BodyReader) throws(ProtocolError) -> Request {
        let namespace = try reader.readNamespace()
        let count = Int(try reader.read(UInt16.self, "count"))
        guard count * WireMetricEvent.byteCount == reader.remaining else {
            throw reader.failure("\(count) events need \(count * WireMetricEvent.byteCount) bytes, \(reader.remaining) remain")
        }
        var events: [WireMetricEvent] = []
        events.reserveCapacity(count)
        for _ in 0..<count {
            try checkFormat(&reader, reservedBytes: 3, "metric event")
            let campaign = WireUUID(bytes: try reader.readBytes(16, "campaign id"))
            let time = try reader.read(Int64.self, "time")
            let sequence = try reader.read(UInt64.self, "sequence")
            events.append(WireMetricEvent(campaignID: campaign, timeMicroseconds: time, sequence: sequence, sent: try reader.read(UInt32.self, "sent"), opened: try reader.read(UInt32.self, "opened"), clicked: try reader.read(UInt32.self, "clicked"), converted: try reader.read(UInt32.self, "converted")))
        }
        return .metricAppend(namespace: namespace, events: events)
    }

    /// `[namespace][u16 count]{[u32 length][record]} x count`: the records are written as given.
    static func encodeUpsertBatch(_ namespace: String, _ records: [[UInt8]], into buffer: inout ByteBuffer) {
        buffer.writeNamespace(namespace)
        buffer.writeInteger(UInt16(truncatingIfNeeded: records.count), endianness: .little)
        buffer.reserveCapacity(minimumWritableBytes: records.reduce(0) { $0 + 4 + $1.count })
        for record in records { writeRecord(record, into: &buffer) }
    }

    /// The batch's records as bytes: reading each one is the server's work, item by item, so a
    /// record it cannot read is refused alone. Only a length past the end is malformed.
    static func decodeUpsertBatch(_ reader: inout BodyReader, _ what: String) throws(ProtocolError) -> (String, [[UInt8]]) {
        let namespace = try reader.readNamespace()
        let count = Int(try reader.read(UInt16.self, "count"))
        guard count <= reader.remaining / 4 else { throw reader.failure("\(count) \(what) records need at least \(count * 4) bytes, \(reader.remaining) remain") }
        var records: [[UInt8]] = []
        records.reserveCapacity(count)
        for _ in 0..<count { records.append(try reader.readValue("\(what) record")) }
        return (namespace, records)
    }

    static func encodeUpsertOutcomes(_ updatedAtMicroseconds: Int64, _ outcomes: [WireUpsertOutcome], into buffer: inout ByteBuffer) {
        buffer.writeInteger(updatedAtMicroseconds, endianness: .little)
        buffer.writeInteger(UInt16(truncatingIfNeeded: outcomes.count), endianness: .little)
        for outcome in outcomes {
            switch outcome {
            case .stored(let version, let createdAtMicroseconds):
                buffer.writeInteger(Status.ok.rawValue, endianness: .little)
                buffer.writeInteger(version, endianness: .little)
                buffer.writeInteger(createdAtMicroseconds, endianness: .little)
            case .refused(let status, let message):
                precondition(status != .ok, "a refused upsert item with status ok")
                buffer.writeInteger(status.rawValue, endianness: .little)
                ErrorBody(message: message).encode(into: &buffer, bytesMax: WireUpsertOutcome.messageBytesMax)
            }
        }
    }

    static func decodeUpsertOutcomes(_ reader: inout BodyReader) throws(ProtocolError) -> Response {
        let updatedAt = try reader.read(Int64.self, "updated at")
        let count = Int(try reader.read(UInt16.self, "count"))
        // The shortest outcome is a refusal with an empty message: 4 bytes.
        guard count <= reader.remaining / 4 else { throw reader.failure("\(count) outcomes need at least \(count * 4) bytes, \(reader.remaining) remain") }
        var outcomes: [WireUpsertOutcome] = []
        outcomes.reserveCapacity(count)
        for _ in 0..<count {
            let status = Status(rawValue: try reader.read(UInt16.self, "item status"))
            if status == .ok {
                outcomes.append(.stored(version: try reader.read(UInt64.self, "item version"), createdAtMicroseconds: try reader.read(Int64.self, "item created at")))
            } else {
                outcomes.append(.refused(status, message: try ErrorBody.decode(&reader).message))
            }
        }
        return .upsertOutcomes(updatedAtMicroseconds: updatedAt, outcomes: outcomes)
    }

    // MARK: Responses

    static func encodeSummary(_ summary: WireCampaignSummary, into buffer: inout ByteBuffer) {
        writeRecord(summary.campaign.record, into: &buffer)
        buffer.writeBytes(summary.campaign.id.bytes)
        summary.totals.encode(into: &buffer)
    }

    static func decodeSummary(_ reader: inout BodyReader) throws(ProtocolError) -> WireCampaignSummary {
        let campaign = try readRecord(&reader, "campaign") { (record) throws(ProtocolError) in try WireCampaign.decode(&record) }
        let id = WireUUID(bytes: try reader.readBytes(16, "summary campaign id"))
        guard id == campaign.id else { throw reader.failure("a summary of campaign \(id) follows campaign \(campaign.id)") }
        return WireCampaignSummary(campaign: campaign, totals: try WireTotals.decode(&reader))
    }

    /// A count the body cannot hold (every element takes at least `bytesMin`) is malformed
    /// before anything is reserved for it.
    static func readCount(_ reader: inout BodyReader, bytesMin: Int) throws(ProtocolError) -> Int {
        let count = Int(try reader.read(UInt32.self, "count"))
        guard count <= reader.remaining / bytesMin else { throw reader.failure("\(count) entries need at least \(count * bytesMin) bytes, \(reader.remaining) remain") }
        return count
    }
}
