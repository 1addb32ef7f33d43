@testable import EngramStorage
import FoundationEssentials

/// A UUID whose last eight bytes are `number` big-endian (so ids sort as their numbers) and whose
/// first eight are `high`.
func testID(_ number: Int, high: UInt64 = 0) -> UUID {
    var bytes = [UInt8](repeating: 0, count: 16)
    for index in 0..<8 {
        bytes[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(index)))
        bytes[8 + index] = UInt8(truncatingIfNeeded: UInt64(truncatingIfNeeded: number) >> (56 - 8 * UInt64(index)))
    }
    return bytes.withUnsafeBytes { UUID(bytes: $0) }
}

extension SplitMix64 {
    mutating func uuid() -> UUID {
        testID(Int(truncatingIfNeeded: next()), high: next())
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}

extension UUID {
    /// The 16 bytes, for ordering ids as the store does (unsigned, bytewise).
    var testBytes: [UInt8] { withUnsafeBytes(of: uuid) { Array($0) } }
}

/// A lead upsert with the fields of `lead` and no import time.
func upsert(_ lead: Lead, in namespace: Namespace = crm, createdAt: Int64? = nil) -> LeadUpsert {
    LeadUpsert(namespace: namespace, id: lead.id, email: lead.email, name: lead.name, company: lead.company, source: lead.source,
               category: lead.category, score: lead.score, status: lead.status, metadata: lead.metadata, createdAtMicroseconds: createdAt)
}

/// Writes straight into LMDB, past the commit log: for tests that damage the records on purpose.
/// Writes straight into LMDB, past the commit log and the write buffers: a checkpoint first puts
/// every write so far into LMDB, so what `body` changes is what reads then see.
func damage(_ store: EngramStore, _ body: (LMDBTransaction, RecordTables) throws(EngramError) -> Void) throws {
    try store.checkpointNow()
    try store.environment.write { (transaction) throws(EngramError) in try body(transaction, store.tables.records) }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

func unhex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace }.utf8)
    precondition(digits.count % 2 == 0, "odd hex digits")
    func value(_ digit: UInt8) -> UInt8 { digit <= UInt8(ascii: "9") ? digit - UInt8(ascii: "0") : (digit | 0x20) - UInt8(ascii: "a") + 10 }
    return stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
}

/// `smallLimits()` with a 1 GiB map (address space only): record workloads of many one-write
/// batches dirty several pages each, and the checkpoint's pin keeps them until the next checkpoint.
func recordLimits() -> Limits {
    var limits = smallLimits()
    limits.mapBytes = 1 << 30
    return limits
}
