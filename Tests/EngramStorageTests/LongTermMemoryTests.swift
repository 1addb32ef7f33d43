@testable import EngramStorage
import Testing

@Suite struct LongTermMemoryTests {
    @Test func putThenGetReturnsTheValueAndItsVersion() async throws {
        try await withStore { store, _ in
            let version = try await store.write(LongTermPut(namespace: crm, key: bytes("profile:acme"), value: bytes("enterprise")))
            #expect(version == 1)
            #expect(try store.longTermGet(namespace: crm, key: bytes("profile:acme")) == StoredValue(version: 1, bytes: bytes("enterprise")))
            let second = try await store.write(LongTermPut(namespace: crm, key: bytes("profile:acme"), value: bytes("smb")))
            #expect(second == 2)
            #expect(try store.longTermGet(namespace: crm, key: bytes("profile:acme")) == StoredValue(version: 2, bytes: bytes("smb")))
        }
    }

    @Test func missingKeyIsNil() async throws {
        try await withStore { store, _ in
            let value = try store.longTermGet(namespace: crm, key: bytes("absent"))
            #expect(value == nil)
        }
    }

    @Test func emptyValueIsStored() async throws {
        try await withStore { store, _ in
            let version = try await store.write(LongTermPut(namespace: crm, key: bytes("empty"), value: []))
            #expect(try store.longTermGet(namespace: crm, key: bytes("empty")) == StoredValue(version: version, bytes: []))
        }
    }

    @Test func sameKeyInTwoNamespacesIsTwoItems() async throws {
        try await withStore { store, _ in
            _ = try await store.write(LongTermPut(namespace: crm, key: bytes("k"), value: bytes("crm")))
            _ = try await store.write(LongTermPut(namespace: billing, key: bytes("k"), value: bytes("billing")))
            #expect(try store.longTermGet(namespace: crm, key: bytes("k"))?.bytes == bytes("crm"))
            #expect(try store.longTermGet(namespace: billing, key: bytes("k"))?.bytes == bytes("billing"))
            #expect(try await store.write(LongTermDelete(namespace: crm, key: bytes("k"))) == true)
            #expect(try store.longTermGet(namespace: crm, key: bytes("k")) == nil)
            #expect(try store.longTermGet(namespace: billing, key: bytes("k"))?.bytes == bytes("billing"))
            // A namespace whose name is a prefix of another's sees none of the other's keys.
            let short = try Namespace("cr")
            _ = try await store.write(LongTermPut(namespace: short, key: bytes("mk"), value: bytes("short")))
            #expect(try store.longTermScan(namespace: short, limit: 100).entries.map(\.key) == [bytes("mk")])
            #expect(try store.longTermScan(namespace: billing, limit: 100).entries.map(\.key) == [bytes("k")])
        }
    }

    @Test func deleteReportsWhetherTheKeyExisted() async throws {
        try await withStore { store, _ in
            #expect(try await store.write(LongTermDelete(namespace: crm, key: bytes("k"))) == false)
            _ = try await store.write(LongTermPut(namespace: crm, key: bytes("k"), value: bytes("v")))
            #expect(try await store.write(LongTermDelete(namespace: crm, key: bytes("k"))) == true)
            #expect(try store.longTermGet(namespace: crm, key: bytes("k")) == nil)
        }
    }

    @Test func compareAndSet() async throws {
        try await withStore { store, _ in
            let key = bytes("rules")
            // 0 means "must not exist".
            let first = try await store.write(LongTermPut(namespace: crm, key: key, value: bytes("a"), expectedVersion: 0))
            let taken = await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: key, value: bytes("b"), expectedVersion: 0)) }
            #expect(taken == EngramError(.versionConflict, "expected no value for key \"rules\", found version \(first)"))
            let stale = await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: key, value: bytes("b"), expectedVersion: first + 7)) }
            #expect(stale == EngramError(.versionConflict, "expected version \(first + 7) for key \"rules\", found version \(first)"))
            let second = try await store.write(LongTermPut(namespace: crm, key: key, value: bytes("c"), expectedVersion: first))
            #expect(second > first)
            #expect(try store.longTermGet(namespace: crm, key: key) == StoredValue(version: second, bytes: bytes("c")))
            // Compare-and-delete.
            let wrongDelete = await engramError { _ = try await store.write(LongTermDelete(namespace: crm, key: key, expectedVersion: first)) }
            #expect(wrongDelete?.code == .versionConflict)
            #expect(try await store.write(LongTermDelete(namespace: crm, key: key, expectedVersion: second)) == true)
            let gone = await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: key, value: bytes("d"), expectedVersion: second)) }
            #expect(gone == EngramError(.versionConflict, "expected version \(second) for key \"rules\", found no value"))
        }
    }

    @Test func versionsAreNeverReusedAfterADelete() async throws {
        try await withStore { store, _ in
            let first = try await store.write(LongTermPut(namespace: crm, key: bytes("k"), value: bytes("1")))
            _ = try await store.write(LongTermDelete(namespace: crm, key: bytes("k")))
            let second = try await store.write(LongTermPut(namespace: crm, key: bytes("k"), value: bytes("2")))
            #expect(second > first)
        }
    }

    @Test func sizeLimitsAreEnforcedBeforeQueueing() async throws {
        var limits = Limits()
        limits.keyBytesMax = 8
        limits.valueBytesMax = 16
        try await withStore(limits: limits) { store, _ in
            let longKey = await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: bytes("123456789"), value: [])) }
            #expect(longKey == EngramError(.keyTooLarge, "key of 9 bytes exceeds keyBytesMax 8"))
            let longValue = await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: bytes("k"), value: [UInt8](repeating: 1, count: 17))) }
            #expect(longValue == EngramError(.valueTooLarge, "value of 17 bytes exceeds valueBytesMax 16"))
            let emptyKey = await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: [], value: [])) }
            #expect(emptyKey == EngramError(.invalidArgument, "a key must not be empty"))
            let longGet = await engramError { _ = try store.longTermGet(namespace: crm, key: bytes("123456789")) }
            #expect(longGet?.code == .keyTooLarge)
            #expect(store.statistics.writeCount == 0)
        }
    }

    @Test func namespaceNamesAreChecked() async throws {
        #expect(throws: EngramError(.invalidArgument, "a namespace name must not be empty")) { try Namespace("") }
        #expect(throws: EngramError(.invalidArgument, "namespace name has byte 0x2f at index 3; allowed are letters, digits, '.', '_', '-' and ':'")) { try Namespace("crm/x") }
        var limits = Limits()
        limits.namespaceBytesMax = 4
        try await withStore(limits: limits) { store, _ in
            let error = await engramError { _ = try await store.write(LongTermPut(namespace: try Namespace("tenant"), key: bytes("k"), value: [])) }
            #expect(error == EngramError(.keyTooLarge, "namespace name of 6 bytes exceeds namespaceBytesMax 4"))
        }
    }

    @Test func scanPagesExactlyAgainstAModel() async throws {
        try await withStore(limits: smallLimits()) { store, _ in
            var generator = SplitMix64(seed: 42)
            var model: [[UInt8]: [UInt8]] = [:]
            for index in 0..<600 {
                let prefix = ["lead:", "rule:", "lead:x", "z"][Int(generator.next() % 4)]
                let key = bytes(prefix) + (0..<Int(generator.next() % 6)).map { _ in UInt8(truncatingIfNeeded: generator.next() % 256) }
                let value = bytes("v\(index)")
                _ = try await store.write(LongTermPut(namespace: crm, key: key, value: value), durability: .applied)
                model[key] = value
            }
            // Noise in a neighbouring namespace must never appear.
            _ = try await store.write(LongTermPut(namespace: billing, key: bytes("lead:1"), value: bytes("other")))
            for prefix in [[], bytes("lead:"), bytes("lead:x"), bytes("rule:"), bytes("q"), bytes("z")] {
                let expected = model.filter { $0.key.starts(with: prefix) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
                for pageSize in [1, 3, 7, 50, 1000] {
                    var collected: [(key: [UInt8], value: [UInt8])] = []
                    var after: [UInt8]? = nil
                    var pages = 0
                    repeat {
                        let page = try store.longTermScan(namespace: crm, prefix: prefix, after: after, limit: pageSize)
                        #expect(page.entries.count <= pageSize)
                        collected += page.entries.map { ($0.key, $0.value) }
                        after = page.resumeAfter
                        pages += 1
                        if after != nil { #expect(page.entries.count == pageSize) }
                    } while after != nil
                    #expect(collected.map(\.key) == expected.map(\.key), "prefix \(prefix) page \(pageSize)")
                    #expect(collected.map(\.value) == expected.map(\.value))
                    #expect(pages == max(1, (expected.count + pageSize - 1) / pageSize))
                }
            }
        }
    }

    @Test func scanResumesFromAKeyThatWasDeleted() async throws {
        try await withStore { store, _ in
            for key in ["a", "b", "c", "d"] { _ = try await store.write(LongTermPut(namespace: crm, key: bytes(key), value: [])) }
            _ = try await store.write(LongTermDelete(namespace: crm, key: bytes("b")))
            let page = try store.longTermScan(namespace: crm, after: bytes("b"), limit: 10)
            #expect(page.entries.map(\.key) == [bytes("c"), bytes("d")])
            #expect(page.resumeAfter == nil)
            let beforePrefix = try store.longTermScan(namespace: crm, prefix: bytes("c"), after: bytes("a"), limit: 10)
            #expect(beforePrefix.entries.map(\.key) == [bytes("c")])
        }
    }

    @Test func scanPageStopsAtItsByteBound() async throws {
        var limits = Limits()
        limits.valueBytesMax = 1_000
        limits.scanBytesMax = 2_600
        try await withStore(limits: limits) { store, _ in
            for index in 0..<5 {
                _ = try await store.write(LongTermPut(namespace: crm, key: bytes("k\(index)"), value: [UInt8](repeating: 7, count: 1_000)))
            }
            let first = try store.longTermScan(namespace: crm, limit: 100)
            #expect(first.entries.map(\.key) == [bytes("k0"), bytes("k1")])
            #expect(first.resumeAfter == bytes("k1"))
            let second = try store.longTermScan(namespace: crm, after: first.resumeAfter, limit: 100)
            #expect(second.entries.map(\.key) == [bytes("k2"), bytes("k3")])
            let third = try store.longTermScan(namespace: crm, after: second.resumeAfter, limit: 100)
            #expect(third.entries.map(\.key) == [bytes("k4")])
            #expect(third.resumeAfter == nil)
        }
    }

    @Test func scanLimitIsCappedAndMustBePositive() async throws {
        var limits = Limits()
        limits.scanCountMax = 2
        try await withStore(limits: limits) { store, _ in
            for key in ["a", "b", "c"] { _ = try await store.write(LongTermPut(namespace: crm, key: bytes(key), value: [])) }
            let page = try store.longTermScan(namespace: crm, limit: 100)
            #expect(page.entries.count == 2)
            #expect(page.resumeAfter == bytes("b"))
            let zero = await engramError { _ = try store.longTermScan(namespace: crm, limit: 0) }
            #expect(zero == EngramError(.invalidArgument, "a scan limit must be positive, got 0"))
        }
    }

    @Test func zeroCopyReadBorrowsTheValue() async throws {
        try await withStore { store, _ in
            let version = try await store.write(LongTermPut(namespace: crm, key: bytes("k"), value: bytes("hello")))
            let seen = try store.withLongTermValue(namespace: crm, key: bytes("k")) { storedVersion, buffer in
                (storedVersion, Array(buffer))
            }
            #expect(seen?.0 == version)
            #expect(seen?.1 == bytes("hello"))
        }
    }
}
