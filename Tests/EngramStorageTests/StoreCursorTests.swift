#if canImport(Glibc)
import Glibc
#endif
@testable import EngramStorage
import Testing

/// The merging cursor and point reads of a `StoreTransaction` against a model: LMDB holds a base,
/// three write buffers hold puts and deletes at increasing LSNs, and a reader at a bound must see
/// exactly the base with every change at or below the bound applied in LSN order. Random walks
/// (seeks, both directions, changes of direction, running off either end) compare every step.
@Suite struct StoreCursorTests {
    /// Short keys over four byte values, so prefixes, the 0x00 and 0xFF edges and shared
    /// prefixes all occur often.
    static func universe() -> [[UInt8]] {
        let alphabet: [UInt8] = [0x00, 0x01, 0x7F, 0xFF]
        var keys: [[UInt8]] = alphabet.map { [$0] }
        for first in alphabet { for second in alphabet { keys.append([first, second]) } }
        for first in [UInt8(0x01), 0xFF] { for second in alphabet { for third in [UInt8(0x00), 0xFF] { keys.append([first, second, third]) } } }
        return keys
    }

    /// A change a buffer holds: a put of `value`, or a delete when nil.
    struct Change {
        let lsn: UInt64
        let key: [UInt8]
        let value: [UInt8]?
    }

    final class Fixture {
        let directory = TemporaryDirectory()
        let environment: LMDBEnvironment
        let table: LMDBDatabase
        var base: [[UInt8]: [UInt8]] = [:]
        var changes: [Change] = []
        var buffers: [WriteBuffer] = []

        init(seed: UInt64) throws {
            environment = try LMDBEnvironment(directory: directory.path, mapBytes: 16 << 20, readersMax: 8, databasesMax: 4)
            var generator = SeededGenerator(seed: seed)
            let keys = StoreCursorTests.universe()
            var base: [[UInt8]: [UInt8]] = [:]
            for key in keys where generator.next() % 3 == 0 {
                base[key] = [UInt8(0xB0), UInt8(truncatingIfNeeded: generator.next())]
            }
            let environment = self.environment
            table = try environment.write { (transaction) throws(EngramError) -> LMDBDatabase in
                let table = try environment.openDatabase("model", in: transaction)
                for (key, value) in base {
                    try key.withBytes { (key) throws(EngramError) in try value.withBytes { (value) throws(EngramError) in try transaction.put(table, key, value) } }
                }
                return table
            }
            self.base = base
            // Three buffers, oldest first, each holding ten batches of one to four changes.
            var lsn: UInt64 = 0
            for sequence in 1...3 {
                let buffer = WriteBuffer(sequence: UInt64(sequence))
                for _ in 0..<10 {
                    lsn += 1
                    for _ in 0..<(1 + Int(generator.next() % 4)) {
                        let key = keys[Int(generator.next() % UInt64(keys.count))]
                        let value: [UInt8]? = generator.next() % 3 == 0 ? nil : [UInt8(sequence), UInt8(truncatingIfNeeded: lsn), UInt8(truncatingIfNeeded: generator.next())]
                        changes.append(Change(lsn: lsn, key: key, value: value))
                        key.withUnsafeBytes { key in
                            buffer.write(table: table, key: key, lsn: lsn, valueByteCount: value?.count) { destination in
                                value!.withUnsafeBytes { destination.copyMemory(from: $0) }
                            }
                        }
                    }
                    buffer.sealBatch(lsn: lsn, nanoseconds: 1)
                }
                buffers.insert(buffer, at: 0)
            }
        }

        deinit {
            environment.close()
            directory.remove()
        }

        /// The table as a reader at `bound` must see it, in key order.
        func model(bound: UInt64) -> [(key: [UInt8], value: [UInt8])] {
            var state = base
            for change in changes where change.lsn <= bound { state[change.key] = change.value }
            return state.map { ($0.key, $0.value) }.sorted { compare($0.key, $1.key) < 0 }
        }

        func withTransaction<Result>(bound: UInt64, _ body: (StoreTransaction) throws -> Result) throws -> Result {
            try environment.read { (lmdb) throws(EngramError) -> Result in
                do {
                    return try body(StoreTransaction(lmdb: lmdb, buffers: buffers, bound: bound, snapshotLSN: bound, writeTarget: nil))
                } catch let error as EngramError {
                    throw error
                } catch {
                    throw EngramError(.io, "\(error)")
                }
            }
        }
    }

    static func compare(_ left: [UInt8], _ right: [UInt8]) -> Int {
        left.withUnsafeBytes { left in right.withUnsafeBytes { right in compareKeys(left, right) } }
    }

    /// The model's answer to a cursor move, with the position it leaves.
    struct ModelCursor {
        let entries: [(key: [UInt8], value: [UInt8])]
        var index: Int? = nil

        mutating func seek(_ key: [UInt8]) -> [UInt8]? { settle(entries.firstIndex { StoreCursorTests.compare($0.key, key) >= 0 }) }
        mutating func first() -> [UInt8]? { settle(entries.isEmpty ? nil : 0) }
        mutating func last() -> [UInt8]? { settle(entries.isEmpty ? nil : entries.count - 1) }
        mutating func next() -> [UInt8]? {
            guard let index else { return first() }
            return settle(index + 1 < entries.count ? index + 1 : nil)
        }
        mutating func previous() -> [UInt8]? {
            guard let index else { return last() }
            return settle(index > 0 ? index - 1 : nil)
        }
        private mutating func settle(_ found: Int?) -> [UInt8]? {
            index = found
            return found.map { entries[$0].key + [0xEE] + entries[$0].value }
        }
    }

    static func describe(_ entry: StoreCursor.Entry?) -> [UInt8]? {
        entry.map { Array($0.key) + [0xEE] + Array($0.value) }
    }

    /// The writer deletes through a cursor and seeks again, as a range delete does: its tombstones
    /// (new keys of the batch, linked into the skip list only when needed) must be seen by the
    /// next seek, or the loop finds the same key for ever.
    @Test func aWritersCursorSeesItsOwnDeletions() throws {
        let fixture = try Fixture(seed: 3)
        let active = WriteBuffer(sequence: 9)
        let lsn: UInt64 = 100
        let deleted = try fixture.environment.read { (lmdb) throws(EngramError) -> Int in
            let transaction = StoreTransaction(lmdb: lmdb, buffers: [active] + fixture.buffers, bound: .max, snapshotLSN: lsn, writeTarget: .init(buffer: active, lsn: lsn))
            return try transaction.withCursor(fixture.table) { (cursor) throws(EngramError) -> Int in
                var count = 0
                while try [UInt8(0x00)].withBytes({ (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }) != nil {
                    try cursor.deleteCurrent()
                    count += 1
                    if count > 1_000 { break }
                }
                return count
            }
        }
        #expect(deleted == fixture.model(bound: .max).count)
        active.sealBatch(lsn: lsn, nanoseconds: 1)
        try fixture.environment.read { (lmdb) throws(EngramError) in
            let transaction = StoreTransaction(lmdb: lmdb, buffers: [active] + fixture.buffers, bound: lsn, snapshotLSN: lsn, writeTarget: nil)
            #expect(try transaction.withCursor(fixture.table) { (cursor) throws(EngramError) in try cursor.first() } == nil)
            #expect(try transaction.entryCount(fixture.table) == 0)
        }
    }

    @Test(arguments: UInt64(1)...UInt64(40))
    func theMergedCursorMatchesTheModel(seed: UInt64) throws {
        let fixture = try Fixture(seed: seed)
        var generator = SeededGenerator(seed: seed &* 7919)
        let keys = Self.universe() + [[0x00, 0x00, 0x00, 0x00], [0x02], [0xFF, 0xFF, 0xFF, 0xFF]]
        for bound in [UInt64(0), 5, 10, 11, 17, 20, 25, 30, UInt64.max] {
            let entries = fixture.model(bound: bound)
            try fixture.withTransaction(bound: bound) { transaction in
                // Point reads of every key.
                for key in keys {
                    let expected = entries.first { Self.compare($0.key, key) == 0 }?.value
                    let found = try key.withBytes { (key) throws(EngramError) in try transaction.get(fixture.table, key).map(Array.init) }
                    #expect(found == expected, "seed \(seed) bound \(bound) key \(key)")
                }
                // A full walk each way.
                try transaction.withCursor(fixture.table) { (cursor) throws(EngramError) in
                    var forward: [[UInt8]] = []
                    var entry = try cursor.first()
                    while let current = entry {
                        forward.append(Array(current.key))
                        entry = try cursor.next()
                    }
                    #expect(forward == entries.map(\.key), "seed \(seed) bound \(bound), forward")
                    var backward: [[UInt8]] = []
                    entry = try cursor.last()
                    while let current = entry {
                        backward.append(Array(current.key))
                        entry = try cursor.previous()
                    }
                    #expect(backward == entries.map(\.key).reversed(), "seed \(seed) bound \(bound), backward")
                }
                // A random walk.
                try transaction.withCursor(fixture.table) { (cursor) throws(EngramError) in
                    var model = ModelCursor(entries: entries)
                    var steps: [String] = []
                    for _ in 0..<60 {
                        let choice = generator.next() % 10
                        let expected: [UInt8]?
                        let found: [UInt8]?
                        switch choice {
                        case 0, 1:
                            let key = keys[Int(generator.next() % UInt64(keys.count))]
                            steps.append("seek \(key)")
                            expected = model.seek(key)
                            found = Self.describe(try key.withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) })
                        case 2:
                            steps.append("first")
                            expected = model.first()
                            found = Self.describe(try cursor.first())
                        case 3:
                            steps.append("last")
                            expected = model.last()
                            found = Self.describe(try cursor.last())
                        case 4, 5, 6:
                            steps.append("next")
                            expected = model.next()
                            found = Self.describe(try cursor.next())
                        default:
                            steps.append("previous")
                            expected = model.previous()
                            found = Self.describe(try cursor.previous())
                        }
                        #expect(found == expected, "seed \(seed) bound \(bound): \(steps.suffix(6))")
                        if found != expected { break }
                    }
                }
                // The entry count, corrected for every buffered key.
                #expect(try transaction.entryCount(fixture.table) == entries.count, "seed \(seed) bound \(bound), count")
            }
        }
    }
}
