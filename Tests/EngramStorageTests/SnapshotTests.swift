import FoundationEssentials
import Testing
@testable import EngramStorage

/// `StoreSnapshot` (docs/EXPORT.md): one read transaction held across calls, resumable bounded
/// scans, lead months by skip-scan, ranges of live episodic positions, and its limits.
@Suite struct SnapshotTests {
    func lead(_ number: Int, createdAt: Int64, score: Int = 50) -> LeadUpsert {
        LeadUpsert(namespace: crm, id: UUID(uuid: (UInt8(number >> 8), UInt8(number & 0xFF), 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1)),
                   email: "lead\(number)@example.com", score: score, status: "new", createdAtMicroseconds: createdAt)
    }

    /// Every key and value of `table` in `crm`, through the snapshot, `step` entries at a time.
    func scanAll(_ snapshot: StoreSnapshot, _ table: SnapshotTable, step: Int) throws -> [[UInt8]] {
        var cursor = SnapshotKeyCursor()
        var keys: [[UInt8]] = []
        var calls = 0
        while !cursor.isFinished {
            try snapshot.scan(table, namespace: crm, cursor: &cursor, examineCountMax: step) { key, _ in
                keys.append(Array(key))
                return .take
            }
            calls += 1
            #expect(calls <= 10_000)
        }
        return keys
    }

    /// Snapshots opened while writers write and checkpoints run (each open waits for a
    /// checkpoint): every open completes, and each snapshot holds every write acknowledged before
    /// its open began.
    @Test func snapshotsOpenWhileWritesAndCheckpointsRun() async throws {
        var limits = smallLimits()
        limits.writeBufferBytesMax = 32 << 10
        limits.checkpointIntervalMilliseconds = 2
        try await withStore(limits: limits) { store, _ in
            let writers = (0..<4).map { writer in
                Task {
                    for index in 0..<150 {
                        _ = try await store.write(LongTermPut(namespace: crm, key: bytes("w\(writer)-\(index)"), value: [UInt8](repeating: 1, count: 300)))
                    }
                }
            }
            for round in 0..<40 {
                _ = try await store.write(LongTermPut(namespace: crm, key: bytes("round"), value: bytes("\(round)")))
                let snapshot = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<StoreSnapshot, any Error>) in
                    store.openSnapshot { continuation.resume(with: $0.mapError { $0 as any Error }) }
                }
                var cursor = SnapshotKeyCursor()
                var found: [UInt8]? = nil
                while !cursor.isFinished {
                    try snapshot.scan(.longTerm, namespace: crm, cursor: &cursor, examineCountMax: 10_000) { key, value in
                        if Array(key) == bytes("round") { found = Array(value.dropFirst(9)) }
                        return .take
                    }
                }
                #expect(found == bytes("\(round)"), "round \(round)")
                snapshot.close()
            }
            for writer in writers { try await writer.value }
            #expect(store.openSnapshotCount == 0)
        }
    }

    @Test func seesTheStoreAsItWasWhenOpened() async throws {
        try await withStore(limits: smallLimits()) { store, _ in
            for number in 0..<50 { _ = try await store.write(lead(number, createdAt: 1_000_000 + Int64(number))) }
            _ = try await store.write(LongTermPut(namespace: crm, key: bytes("a"), value: bytes("1")))
            _ = try await store.write(EpisodeAppend(namespace: crm, episodes: [NewEpisode(agent: "x", kind: 1, body: [1])]))
            let snapshot = try store.openSnapshot()
            #expect(snapshot.position.episodicPosition == 1)
            // 50 leads and one long-term value took versions; episodes take positions.
            #expect(snapshot.position.version == 51)
            for number in 50..<60 { _ = try await store.write(lead(number, createdAt: 2_000_000)) }
            for number in 0..<10 { #expect(try await store.write(LeadDelete(namespace: crm, id: lead(number, createdAt: 0).id))) }
            _ = try await store.write(EpisodeAppend(namespace: crm, episodes: [NewEpisode(agent: "x", kind: 1, body: [2])]))

            let keys = try scanAll(snapshot, .leads, step: 7)
            #expect(keys == (0..<50).map { withUnsafeBytes(of: lead($0, createdAt: 0).id.uuid) { Array($0) } })
            var episodes: [UInt64] = []
            var cursor = SnapshotPositionCursor()
            while !cursor.isFinished {
                try snapshot.scanEpisodes(namespace: crm, cursor: &cursor, examineBytesMax: 1) { position, _ in
                    episodes.append(position)
                    return .take
                }
            }
            #expect(episodes == [1])
            let later = try store.openSnapshot()
            #expect(later.position.lsn > snapshot.position.lsn)
            #expect(try scanAll(later, .leads, step: 1_000).count == 50)
            later.close()
            snapshot.close()
            #expect(snapshot.isClosed)
            var after = SnapshotKeyCursor()
            let error = await engramError { try snapshot.scan(.leads, namespace: crm, cursor: &after, examineCountMax: 1) { _, _ in .take } }
            #expect(error?.code == .closed)
            #expect(store.openSnapshotCount == 0)
        }
    }

    @Test func stopLeavesTheEntryForTheNextCall() async throws {
        try await withStore(limits: smallLimits()) { store, _ in
            for number in 0..<20 { _ = try await store.write(LongTermPut(namespace: crm, key: bytes("k\(number + 10)"), value: [UInt8(number)])) }
            _ = try await store.write(LongTermPut(namespace: billing, key: bytes("k99"), value: [1]))
            let snapshot = try store.openSnapshot()
            defer { snapshot.close() }
            var cursor = SnapshotKeyCursor()
            var seen: [String] = []
            var round = 0
            while !cursor.isFinished {
                var taken = 0
                round += 1
                try snapshot.scan(.longTerm, namespace: crm, cursor: &cursor, examineCountMax: 100) { key, value in
                    // Three a call: the fourth is left for the next call.
                    if taken == 3 { return .stop }
                    #expect(value.count == 10)
                    seen.append(String(decoding: key, as: UTF8.self))
                    taken += 1
                    return .take
                }
            }
            #expect(seen == (10..<30).map { "k\($0)" })
            #expect(round == 7)
        }
    }

    @Test func leadMonthsAreTheMonthsOfTheLeads() async throws {
        try await withStore(limits: smallLimits()) { store, _ in
            var random = SystemRandomNumberGenerator()
            var model: Set<Int64> = []
            var commands: [LeadUpsert] = []
            for number in 0..<400 {
                // Mostly 2024-2026, some at the epoch's first month, one at 9999.
                let created: Int64 = number % 50 == 0 ? Int64(number) : number == 7 ? 253_402_300_799_999_999 : 1_704_067_200_000_000 + Int64.random(in: 0..<(900 * 86_400_000_000), using: &random)
                commands.append(lead(number, createdAt: created, score: Int.random(in: 0...100, using: &random)))
                model.insert(UTCCalendar.monthStart(created))
            }
            for command in commands { _ = try await store.write(command) }
            let snapshot = try store.openSnapshot()
            defer { snapshot.close() }
            var cursor = SnapshotMonthCursor()
            var months: Set<Int64> = []
            var calls = 0
            while !cursor.isFinished {
                try snapshot.leadMonths(namespace: crm, cursor: &cursor, seekCountMax: 5) { months.insert($0) }
                calls += 1
            }
            #expect(months == model)
            #expect(months.contains(0))
            // One seek per (score, month) with leads, plus one per score: far fewer than leads.
            #expect(calls * 5 <= 101 * (model.count + 1) + 5)
        }
    }

    @Test func episodicRangesAndReadsOutliveRetention() async throws {
        var limits = smallLimits()
        limits.episodicSegmentBytes = 256 << 10
        limits.episodicRetentionBytes = 256 << 10
        try await withStore(limits: limits) { store, _ in
            // Bodies LZ4 cannot shrink, so the episodes fill several small segments.
            var random = SystemRandomNumberGenerator()
            for _ in 0..<20 {
                let episodes = (0..<50).map { _ in NewEpisode(agent: "a", kind: 1, body: (0..<2_000).map { _ in UInt8.random(in: 0...255, using: &random) }) }
                _ = try await store.write(EpisodeAppend(namespace: crm, episodes: episodes))
            }
            let snapshot = try store.openSnapshot()
            defer { snapshot.close() }
            #expect(snapshot.position.episodicPosition == 1_000)
            let removed = try await store.enforceEpisodicRetention()
            #expect(removed.segmentCount > 0)
            // The snapshot still reads every episode from the files retention removed.
            var positions: [UInt64] = []
            var cursor = SnapshotPositionCursor()
            while !cursor.isFinished {
                try snapshot.scanEpisodes(namespace: crm, cursor: &cursor, examineBytesMax: 100_000) { position, record in
                    #expect(record.count > 2_000)
                    positions.append(position)
                    return .take
                }
            }
            #expect(positions == Array(1...1_000))
            #expect(try ranges(snapshot) == [1...1_000])
            // A newer snapshot's ranges start where retention left the log.
            let later = try store.openSnapshot()
            defer { later.close() }
            let laterRanges = try ranges(later)
            #expect(laterRanges.count == 1)
            #expect(laterRanges.first.map { $0.lowerBound > 1 && $0.upperBound == 1_000 } == true)
        }
    }

    func ranges(_ snapshot: StoreSnapshot) throws -> [ClosedRange<UInt64>] {
        var ranges: [ClosedRange<UInt64>] = []
        var cursor = SnapshotPositionCursor()
        while !cursor.isFinished {
            try snapshot.episodicRanges(cursor: &cursor, blockCountMax: 2) { range in
                if let last = ranges.last, last.upperBound + 1 == range.lowerBound {
                    ranges[ranges.count - 1] = last.lowerBound...range.upperBound
                } else {
                    ranges.append(range)
                }
            }
        }
        return ranges
    }

    @Test func snapshotsAreBoundedAndClosedWithTheStore() async throws {
        var limits = smallLimits()
        limits.snapshotCountMax = 2
        let open = try await withStore(limits: limits) { store, _ -> [StoreSnapshot] in
            let first = try store.openSnapshot()
            let second = try store.openSnapshot()
            #expect(await engramError { _ = try store.openSnapshot() }?.code == .busy)
            first.close()
            let third = try store.openSnapshot()
            #expect(store.openSnapshotCount == 2)
            return [second, third]
        }
        #expect(open.allSatisfy { $0.isClosed })
        var invalid = Limits()
        invalid.snapshotCountMax = invalid.lmdbReadersMax
        #expect(await engramError { try invalid.validate() }?.code == .limitsInvalid)
    }

    @Test func utcCalendarAgreesWithKnownDates() {
        let day = UTCCalendar.microsecondsPerDay
        #expect(UTCCalendar.civil(fromDays: 0) == (1970, 1, 1))
        #expect(UTCCalendar.civil(fromDays: 11_016) == (2000, 2, 29))
        #expect(UTCCalendar.civil(fromDays: -1) == (1969, 12, 31))
        #expect(UTCCalendar.days(year: 2026, month: 11, day: 29) == 20_786)
        #expect(UTCCalendar.monthStart(20_786 * day + 5) == UTCCalendar.days(year: 2026, month: 11, day: 1) * day)
        #expect(UTCCalendar.nextMonthStart(UTCCalendar.days(year: 2026, month: 12, day: 1) * day) == UTCCalendar.days(year: 2027, month: 1, day: 1) * day)
        #expect(UTCCalendar.monthStart(-1) == UTCCalendar.days(year: 1969, month: 12, day: 1) * day)
        for days in stride(from: Int64(-800_000), through: 3_000_000, by: 997) {
            let date = UTCCalendar.civil(fromDays: days)
            #expect(UTCCalendar.days(year: date.year, month: date.month, day: date.day) == days)
        }
    }
}
