/// The LMDB databases the store keeps; docs/STORAGE.md lists each key and value layout.
struct Tables: Sendable {
    /// Leads, campaigns, metric events and their indexes (docs/RECORDS.md); their names are in
    /// `RecordTables.names`.
    let records: RecordTables
    /// Store bookkeeping: `applied_lsn`, `version_counter`, `format`.
    let meta: LMDBDatabase
    /// Long-term memory: `[u8 nsLength][ns][key]` → `[u8 format][u64 version][value]`.
    let longTerm: LMDBDatabase
    /// Semantic facts: `[u8 nsLength][ns][16-byte id]` → the fact (see `SemanticFact`).
    let semantic: LMDBDatabase
    /// The episodic log's state, segment and block tables, indexes and unwritten block pieces;
    /// every key starts with a kind byte (docs/EPISODIC.md, "The LMDB keyspace").
    let episodic: LMDBDatabase
    /// Erase markers, fold cursors and lead engagement summaries (docs/LIFECYCLE.md).
    let lifecycle: LifecycleTables

    static let names = ["meta", "long_term", "semantic", "episodic"]

    static func open(in environment: LMDBEnvironment, transaction: LMDBTransaction) throws(EngramError) -> Tables {
        Tables(
            records: try RecordTables.open(in: environment, transaction: transaction),
            meta: try environment.openDatabase("meta", in: transaction),
            longTerm: try environment.openDatabase("long_term", in: transaction),
            semantic: try environment.openDatabase("semantic", in: transaction),
            episodic: try environment.openDatabase("episodic", in: transaction),
            lifecycle: try LifecycleTables.open(in: environment, transaction: transaction))
    }
}

/// Keys of the meta table.
enum MetaKey {
    /// u64: the LSN of the last log record whose batch is in LMDB.
    static let appliedLSN: [UInt8] = Array("applied_lsn".utf8)
    /// u64: the highest version number given out.
    static let versionCounter: [UInt8] = Array("version_counter".utf8)
    /// u32: the version of the table layouts; 1 for this layout.
    static let format: [UInt8] = Array("format".utf8)
    static let formatVersion: UInt32 = 1
}

/// A meta table's u64 value as stored (little-endian, 8 bytes), or nil when the key is missing;
/// for LMDB's transactions and the store's alike.
func metaUInt64(_ value: UnsafeRawBufferPointer?, key: [UInt8]) throws(EngramError) -> UInt64? {
    guard let value else { return nil }
    guard value.count == 8 else {
        throw EngramError(.corrupt, "meta value \(String(decoding: key, as: UTF8.self)) is \(value.count) bytes, expected 8")
    }
    return UInt64(littleEndian: value.loadUnaligned(as: UInt64.self))
}

extension LMDBTransaction {
    func readUInt64(_ table: LMDBDatabase, _ key: [UInt8]) throws(EngramError) -> UInt64? {
        try metaUInt64(key.withBytes { (key) throws(EngramError) in try get(table, key) }, key: key)
    }

    func writeUInt64(_ table: LMDBDatabase, _ key: [UInt8], _ value: UInt64) throws(EngramError) {
        try key.withBytes { (key) throws(EngramError) in
            try withBytes(of: value.littleEndian) { (value) throws(EngramError) in try put(table, key, value) }
        }
    }
}

extension StoreTransaction {
    func readUInt64(_ table: LMDBDatabase, _ key: [UInt8]) throws(EngramError) -> UInt64? {
        try metaUInt64(key.withBytes { (key) throws(EngramError) in try get(table, key) }, key: key)
    }

    func writeUInt64(_ table: LMDBDatabase, _ key: [UInt8], _ value: UInt64) throws(EngramError) {
        try key.withBytes { (key) throws(EngramError) in
            try withBytes(of: value.littleEndian) { (value) throws(EngramError) in try put(table, key, value) }
        }
    }
}

extension Tables {
    /// Every database, in no particular order: what a checkpoint walks in each buffer.
    var all: [LMDBDatabase] {
        records.all + [meta, longTerm, semantic, episodic] + lifecycle.all
    }
}
