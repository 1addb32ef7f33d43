import FoundationEssentials

/// Decoders for the rows a snapshot stream carries (docs/PROTOCOL.md, "Streams"), for clients
/// that link the engine's layouts (the export). Each checks the row as the engine checks stored
/// bytes and throws `.corrupt` naming what is wrong; none keeps a pointer into the row.
extension Lead {
    /// Decodes and checks a lead record borrowed from a buffer (a chunk's row).
    public init(recordBytes bytes: UnsafeRawBufferPointer, limits: Limits = .default) throws(EngramError) {
        let view = try LeadView(bytes, source: "a lead row")
        if let problem = view.problem(limits) { throw EngramError(.corrupt, "a lead row \(problem)") }
        self = try view.lead()
    }
}

extension Campaign {
    /// Decodes and checks a campaign record borrowed from a buffer.
    public init(recordBytes bytes: UnsafeRawBufferPointer, limits: Limits = .default) throws(EngramError) {
        let view = try CampaignView(bytes, source: "a campaign row")
        if let problem = view.problem(limits) { throw EngramError(.corrupt, "a campaign row \(problem)") }
        self = try view.campaign()
    }
}

extension CampaignMetricEvent {
    /// Decodes a 52-byte metric event record borrowed from a buffer.
    public init(recordBytes bytes: UnsafeRawBufferPointer) throws(EngramError) {
        self = try MetricEventLayout.decode(bytes, source: "a metric event row")
    }
}

extension Episode {
    /// Decodes an episode record (docs/EPISODIC.md, "Record"), checking its length fields and its
    /// CRC-32C before a field is believed.
    public init(recordBytes bytes: UnsafeRawBufferPointer) throws(EngramError) {
        let view = try EpisodeRecordView.parse(bytes, at: 0, file: "an episode row", fileOffset: 0)
        guard view.record.count == bytes.count else {
            throw EngramError(.corrupt, "an episode row of \(bytes.count) bytes holds a record of \(view.record.count)")
        }
        self.init(view)
    }
}

/// A long-term entry as the snapshot's long-term stream carries it.
public struct LongTermRow: Sendable, Equatable {
    public let key: [UInt8]
    public let version: UInt64
    public let value: [UInt8]

    /// `[u16 key length][key][u64 version][value]`.
    public init(rowBytes bytes: UnsafeRawBufferPointer) throws(EngramError) {
        var reader = ByteReader(bytes, source: "a long-term row")
        key = try reader.readBytes(Int(try reader.read(UInt16.self, "the key length")), "the key")
        version = try reader.read(UInt64.self, "the version")
        value = try reader.readBytes(reader.remaining, "the value")
        guard !key.isEmpty else { throw EngramError(.corrupt, "a long-term row with an empty key") }
    }
}

extension StoredFact {
    /// `[16-byte id][u64 version][fact]`, the fact in its stored layout after the format byte.
    public init(rowBytes bytes: UnsafeRawBufferPointer) throws(EngramError) {
        guard bytes.count >= 16 + 8 else { throw EngramError(.corrupt, "a semantic row of \(bytes.count) bytes") }
        let id = UUID(bytes: bytes.slice(0..<16))
        // The stored layout is the format byte followed by exactly the row's remainder.
        var stored = [SemanticFactLayout.formatVersion]
        stored.append(contentsOf: bytes.slice(16..<bytes.count))
        self = try stored.withBytes { (value) throws(EngramError) in try SemanticFactLayout.decode(value, id: id, source: "a semantic row") }
    }
}
