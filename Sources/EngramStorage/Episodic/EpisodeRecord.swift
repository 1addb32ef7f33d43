import FoundationEssentials

/// Encodes and parses episode records (docs/EPISODIC.md, "Record").
///
/// ```
///  0      4      8        16       24        32   34    35      36        37
///  | crc | length | position | sequence | timestamp | kind | flags | nsBytes | agentBytes |
///  | namespace | agent | [lead 16] | [campaign 16] | body |
/// ```
/// The masked CRC-32C covers bytes 4 to the end of the record; `length` counts the bytes after it.
enum EpisodeRecord {
    /// The bytes `encode` writes for these fields.
    static func byteCount(namespaceBytes: Int, agentBytes: Int, hasLead: Bool, hasCampaign: Bool, bodyBytes: Int) -> Int {
        EpisodicFormat.recordHeaderBytes + namespaceBytes + agentBytes + (hasLead ? 16 : 0) + (hasCampaign ? 16 : 0) + bodyBytes
    }

    /// Appends one record with its checksum.
    static func encode(
        position: UInt64, sequence: UInt64, timestampMicroseconds: Int64, kind: UInt16,
        namespace: [UInt8], agent: [UInt8], lead: UUID?, campaign: UUID?, body: [UInt8],
        into writer: inout ByteWriter
    ) {
        let start = writer.count
        writer.write(UInt32(0))
        writer.write(UInt32(0))
        writer.write(position)
        writer.write(sequence)
        writer.write(timestampMicroseconds)
        writer.write(kind)
        writer.write((lead == nil ? 0 : EpisodicFormat.flagLead) | (campaign == nil ? 0 : EpisodicFormat.flagCampaign))
        writer.write(UInt8(namespace.count))
        writer.write(UInt8(agent.count))
        writer.write(contentsOf: namespace)
        writer.write(contentsOf: agent)
        if let lead { withUnsafeBytes(of: lead.uuid) { writer.write(contentsOf: $0) } }
        if let campaign { withUnsafeBytes(of: campaign.uuid) { writer.write(contentsOf: $0) } }
        writer.write(contentsOf: body)
        writer.patch(UInt32(writer.count - start - 8), at: start + 4)
        let crc = writer.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + 4)...])) }
        writer.patch(CRC32C.mask(crc), at: start)
    }
}

/// One record, parsed in place: its fields and slices of the buffer it came from. Lives only as
/// long as that buffer (a block being read, a log record being applied).
struct EpisodeRecordView {
    let record: UnsafeRawBufferPointer
    let position: UInt64
    let sequence: UInt64
    let timestampMicroseconds: Int64
    let kind: UInt16
    let flags: UInt8
    let namespace: UnsafeRawBufferPointer
    let agent: UnsafeRawBufferPointer
    let body: UnsafeRawBufferPointer

    var leadID: UUID? {
        guard flags & EpisodicFormat.flagLead != 0 else { return nil }
        let start = EpisodicFormat.recordHeaderBytes + namespace.count + agent.count
        return UUID(bytes: UnsafeRawBufferPointer(rebasing: record[start..<(start + 16)]))
    }

    var campaignID: UUID? {
        guard flags & EpisodicFormat.flagCampaign != 0 else { return nil }
        let start = EpisodicFormat.recordHeaderBytes + namespace.count + agent.count + (flags & EpisodicFormat.flagLead != 0 ? 16 : 0)
        return UUID(bytes: UnsafeRawBufferPointer(rebasing: record[start..<(start + 16)]))
    }

    /// Parses the record at `offset` of `buffer`, checking every length and the checksum before a
    /// field is believed. `file` and `fileOffset` name the place in errors.
    static func parse(_ buffer: UnsafeRawBufferPointer, at offset: Int, file: String, fileOffset: Int64) throws(EngramError) -> EpisodeRecordView {
        func damaged(_ what: String) -> EngramError {
            .corrupt("record at byte \(offset) of its block: \(what)", file: file, offset: fileOffset)
        }
        let remaining = buffer.count - offset
        guard remaining >= EpisodicFormat.recordHeaderBytes else { throw damaged("\(remaining) bytes left, a record header needs \(EpisodicFormat.recordHeaderBytes)") }
        let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
        guard length >= EpisodicFormat.recordFixedLengthBytes, length <= remaining - 8 else {
            throw damaged("a length of \(length) with \(remaining - 8) bytes left")
        }
        let record = UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + 8 + length)])
        let stored = CRC32C.unmask(UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: record[4...]))
        guard stored == computed else { throw damaged("checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))") }
        let flags = record[34]
        guard flags & EpisodicFormat.reservedRecordFlags == 0 else { throw damaged("reserved flags \(flags) are set") }
        let namespaceBytes = Int(record[35])
        let agentBytes = Int(record[36])
        let idBytes = (flags & EpisodicFormat.flagLead != 0 ? 16 : 0) + (flags & EpisodicFormat.flagCampaign != 0 ? 16 : 0)
        let bodyStart = EpisodicFormat.recordHeaderBytes + namespaceBytes + agentBytes + idBytes
        guard namespaceBytes > 0, agentBytes > 0, bodyStart <= record.count else {
            throw damaged("names of \(namespaceBytes) and \(agentBytes) bytes and \(idBytes) id bytes do not fit \(record.count)")
        }
        let namespaceStart = EpisodicFormat.recordHeaderBytes
        return EpisodeRecordView(
            record: record,
            position: UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            sequence: UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
            timestampMicroseconds: Int64(littleEndian: record.loadUnaligned(fromByteOffset: 24, as: Int64.self)),
            kind: UInt16(littleEndian: record.loadUnaligned(fromByteOffset: 32, as: UInt16.self)),
            flags: flags,
            namespace: UnsafeRawBufferPointer(rebasing: record[namespaceStart..<(namespaceStart + namespaceBytes)]),
            agent: UnsafeRawBufferPointer(rebasing: record[(namespaceStart + namespaceBytes)..<(namespaceStart + namespaceBytes + agentBytes)]),
            body: UnsafeRawBufferPointer(rebasing: record[bodyStart...]))
    }
}
