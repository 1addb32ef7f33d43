@testable import EngramStorage
import Testing

/// The write buffer on its own (docs/STORAGE.md, "Write buffers"): versions seen by bound, undo,
/// LMDB's key order, and its cursor both ways.
@Suite struct WriteBufferTests {
    static let table = LMDBDatabase(handle: 5, name: "test")
    static let other = LMDBDatabase(handle: 6, name: "other")

    func write(_ buffer: WriteBuffer, _ key: [UInt8], _ value: [UInt8]?, lsn: UInt64, table: LMDBDatabase = table) {
        key.withUnsafeBytes { key in
            buffer.write(table: table, key: key, lsn: lsn, valueByteCount: value?.count) { destination in
                value!.withUnsafeBytes { destination.copyMemory(from: $0) }
            }
        }
    }

    func lookup(_ buffer: WriteBuffer, _ key: [UInt8], bound: UInt64, table: LMDBDatabase = table) -> String {
        key.withUnsafeBytes { key in
            switch buffer.lookup(table: table, key: key, bound: bound) {
            case .absent: return "absent"
            case .deleted: return "deleted"
            case .value(let value): return "value " + String(decoding: value, as: UTF8.self)
            }
        }
    }

    @Test func aReaderSeesTheNewestVersionAtOrBelowItsBound() {
        let buffer = WriteBuffer(sequence: 1)
        write(buffer, bytes("k"), bytes("one"), lsn: 3)
        buffer.sealBatch(lsn: 3, nanoseconds: 1)
        write(buffer, bytes("k"), bytes("two"), lsn: 5)
        write(buffer, bytes("k"), bytes("three"), lsn: 5)
        buffer.sealBatch(lsn: 5, nanoseconds: 2)
        write(buffer, bytes("k"), nil, lsn: 7)
        buffer.sealBatch(lsn: 7, nanoseconds: 3)
        #expect(lookup(buffer, bytes("k"), bound: 2) == "absent")
        #expect(lookup(buffer, bytes("k"), bound: 3) == "value one")
        #expect(lookup(buffer, bytes("k"), bound: 4) == "value one")
        #expect(lookup(buffer, bytes("k"), bound: 5) == "value three", "the last write of a batch wins")
        #expect(lookup(buffer, bytes("k"), bound: 7) == "deleted")
        #expect(lookup(buffer, bytes("k"), bound: .max) == "deleted")
        #expect(lookup(buffer, bytes("k"), bound: .max, table: Self.other) == "absent", "tables are apart")
        #expect(lookup(buffer, bytes("kk"), bound: .max) == "absent")
        #expect(buffer.firstLSN == 3)
        #expect(buffer.lastLSN == 7)
        #expect(buffer.versionCount == 4)
    }

    @Test func undoingABatchTakesOffEveryVersionItAdded() {
        let buffer = WriteBuffer(sequence: 1)
        write(buffer, bytes("a"), bytes("kept"), lsn: 1)
        buffer.sealBatch(lsn: 1, nanoseconds: 1)
        write(buffer, bytes("a"), bytes("undone"), lsn: 2)
        write(buffer, bytes("b"), bytes("undone"), lsn: 2)
        write(buffer, bytes("a"), nil, lsn: 2)
        buffer.undoBatch(lsn: 2)
        #expect(lookup(buffer, bytes("a"), bound: .max) == "value kept")
        #expect(lookup(buffer, bytes("b"), bound: .max) == "absent", "a node whose versions were all undone is invisible")
        // The LSN is given again to the next batch, as the log reuses it.
        write(buffer, bytes("b"), bytes("again"), lsn: 2)
        buffer.sealBatch(lsn: 2, nanoseconds: 2)
        #expect(lookup(buffer, bytes("b"), bound: 2) == "value again")
        #expect(buffer.lastLSN == 2)
        var cursor = WriteBufferCursor(buffer: buffer, table: Self.table, bound: .max)
        cursor.first()
        #expect(cursor.key.map(Array.init) == bytes("a"))
        cursor.next()
        #expect(cursor.key.map(Array.init) == bytes("b"))
    }

    @Test func keysAreInLMDBsOrder() {
        let buffer = WriteBuffer(sequence: 1)
        let keys: [[UInt8]] = [[0xFF], [0x01, 0x00], [0x01], [0x80, 0x00, 0x01], [0x00], [0x80], [0x01, 0xFF, 0xFF]]
        for (index, key) in keys.enumerated() { write(buffer, key, [UInt8(index)], lsn: 1) }
        buffer.sealBatch(lsn: 1, nanoseconds: 1)
        var cursor = WriteBufferCursor(buffer: buffer, table: Self.table, bound: 1)
        var forward: [[UInt8]] = []
        cursor.first()
        while let key = cursor.key {
            forward.append(Array(key))
            cursor.next()
        }
        let expected: [[UInt8]] = [[0x00], [0x01], [0x01, 0x00], [0x01, 0xFF, 0xFF], [0x80], [0x80, 0x00, 0x01], [0xFF]]
        #expect(forward == expected)
        var backward: [[UInt8]] = []
        cursor.last()
        while let key = cursor.key {
            backward.append(Array(key))
            cursor.previous()
        }
        #expect(backward == expected.reversed())
    }

    @Test func aCursorStopsOnlyAtKeysVisibleToItsBound() {
        let buffer = WriteBuffer(sequence: 1)
        for (index, name) in ["a", "b", "c", "d", "e"].enumerated() {
            write(buffer, bytes(name), bytes(name), lsn: UInt64(index + 1))
            buffer.sealBatch(lsn: UInt64(index + 1), nanoseconds: 1)
        }
        write(buffer, bytes("c"), nil, lsn: 6)
        buffer.sealBatch(lsn: 6, nanoseconds: 1)
        func walk(bound: UInt64) -> [String] {
            var cursor = WriteBufferCursor(buffer: buffer, table: Self.table, bound: bound)
            var seen: [String] = []
            cursor.first()
            while let key = cursor.key {
                seen.append(String(decoding: key, as: UTF8.self) + (cursor.version!.isTombstone ? "-" : ""))
                cursor.next()
            }
            return seen
        }
        #expect(walk(bound: 0) == [])
        #expect(walk(bound: 2) == ["a", "b"])
        #expect(walk(bound: 5) == ["a", "b", "c", "d", "e"])
        #expect(walk(bound: 6) == ["a", "b", "c-", "d", "e"], "a buffer cursor stops at tombstones; the merging cursor skips them")
        var cursor = WriteBufferCursor(buffer: buffer, table: Self.table, bound: 3)
        cursor.seek(atOrAfter: bytes("bb").withUnsafeBytes { UnsafeRawBufferPointer($0) })
        #expect(cursor.key.map { String(decoding: $0, as: UTF8.self) } == "c")
        cursor.seek(atOrAfter: bytes("d").withUnsafeBytes { UnsafeRawBufferPointer($0) })
        #expect(cursor.key == nil, "d is past the bound")
        cursor.seek(before: bytes("zz").withUnsafeBytes { UnsafeRawBufferPointer($0) })
        #expect(cursor.key.map { String(decoding: $0, as: UTF8.self) } == "c")
        cursor.seek(before: bytes("a").withUnsafeBytes { UnsafeRawBufferPointer($0) })
        #expect(cursor.key == nil)
    }

    @Test func largeValuesGetTheirOwnArenaChunk() {
        let buffer = WriteBuffer(sequence: 1)
        let large = [UInt8](repeating: 7, count: 3 << 20)
        write(buffer, bytes("big"), large, lsn: 1)
        buffer.sealBatch(lsn: 1, nanoseconds: 1)
        bytes("big").withUnsafeBytes { key in
            guard case .value(let value) = buffer.lookup(table: Self.table, key: key, bound: 1) else {
                Issue.record("the large value is missing")
                return
            }
            #expect(value.count == large.count)
            #expect(value.allSatisfy { $0 == 7 })
        }
        #expect(buffer.byteCount >= large.count)
    }
}
