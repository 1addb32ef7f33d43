import FoundationEssentials

/// The lifecycle's two LMDB databases (docs/LIFECYCLE.md, "Tables").
struct LifecycleTables: Sendable {
    /// `[kind][ns]...`: erase markers and fold cursors (`LifecycleKey`).
    let markers: LMDBDatabase
    /// `ns lead` → the lead's engagement summary (`LeadEngagementLayout`).
    let engagement: LMDBDatabase

    static let names = ["lifecycle", "lead_engagement"]

    static func open(in environment: LMDBEnvironment, transaction: LMDBTransaction) throws(EngramError) -> LifecycleTables {
        LifecycleTables(
            markers: try environment.openDatabase("lifecycle", in: transaction),
            engagement: try environment.openDatabase("lead_engagement", in: transaction))
    }

    var all: [LMDBDatabase] { [markers, engagement] }
}

/// Keys of the `lifecycle` table: a kind byte, then the namespace prefix, then (for a lead) its id.
enum LifecycleKey {
    static let namespaceErasure: UInt8 = 1
    static let leadErasure: UInt8 = 2
    static let foldCursor: UInt8 = 3

    /// `[kind][u8 nsBytes][namespace]`: a namespace's marker, its cursor, or the prefix of its lead
    /// markers.
    static func namespaced(_ kind: UInt8, _ namespace: Namespace) -> [UInt8] {
        [kind, UInt8(namespace.bytes.count)] + namespace.bytes
    }

    static func lead(_ namespace: Namespace, _ lead: UUID) -> [UInt8] {
        namespaced(leadErasure, namespace) + lead.bytes
    }

    /// The namespace named by a key of any kind (bytes after the kind byte), or nil when the key is
    /// too short for its length byte.
    static func namespace(of key: UnsafeRawBufferPointer) -> [UInt8]? {
        guard key.count >= 2, key.count >= 2 + Int(key[1]) else { return nil }
        return Array(key[2..<(2 + Int(key[1]))])
    }
}

/// An erase marker's value: `format:u8 = 1 reserved:u8[7] before_position:u64 started_at:i64`.
struct ErasureMarker: Equatable, Sendable {
    static let byteCount = 24
    /// The episodic log's next position when the erase began: it removes records below it.
    let beforePosition: UInt64
    let startedAtMicroseconds: Int64

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: Self.byteCount)
        writer.write(UInt8(1))
        writer.reserve(7)
        writer.write(beforePosition)
        writer.write(startedAtMicroseconds)
        return writer.bytes
    }

    static func decode(_ value: UnsafeRawBufferPointer, source: String) throws(EngramError) -> ErasureMarker {
        var reader = ByteReader(value, source: source)
        guard value.count == byteCount else { throw reader.failure("an erase marker of \(value.count) bytes, expected \(byteCount)") }
        let format = try reader.readUInt8("the marker format")
        guard format == 1 else { throw reader.failure("unknown erase marker format \(format)") }
        for _ in 0..<7 {
            guard try reader.readUInt8("the reserved bytes") == 0 else { throw reader.failure("an erase marker's reserved bytes must be zero") }
        }
        return ErasureMarker(beforePosition: try reader.read(UInt64.self, "before_position"), startedAtMicroseconds: try reader.read(Int64.self, "started_at"))
    }
}

/// A fold cursor's value: `format:u8 = 1 reserved:u8[7] next_position:u64`.
enum FoldCursorLayout {
    static let byteCount = 16

    static func encode(_ nextPosition: UInt64) -> [UInt8] {
        var writer = ByteWriter(capacity: byteCount)
        writer.write(UInt8(1))
        writer.reserve(7)
        writer.write(nextPosition)
        return writer.bytes
    }

    static func decode(_ value: UnsafeRawBufferPointer, source: String) throws(EngramError) -> UInt64 {
        var reader = ByteReader(value, source: source)
        guard value.count == byteCount else { throw reader.failure("a fold cursor of \(value.count) bytes, expected \(byteCount)") }
        let format = try reader.readUInt8("the cursor format")
        guard format == 1 else { throw reader.failure("unknown fold cursor format \(format)") }
        for _ in 0..<7 {
            guard try reader.readUInt8("the reserved bytes") == 0 else { throw reader.failure("a fold cursor's reserved bytes must be zero") }
        }
        let position = try reader.read(UInt64.self, "next_position")
        guard position >= 1 else { throw reader.failure("a fold cursor of position 0") }
        return position
    }

    /// The namespace's cursor in `transaction`: 1 (fold from the start) when it has none.
    static func read(_ namespace: Namespace, table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> UInt64 {
        try LifecycleKey.namespaced(LifecycleKey.foldCursor, namespace).withBytes { (key) throws(EngramError) -> UInt64 in
            guard let value = try transaction.get(table, key) else { return 1 }
            return try decode(value, source: table.name)
        }
    }
}
