import EngramClient
import EngramProtocol
import Testing

/// Short-term memory end to end through the real `engramd`.
@Suite(.serialized) struct ShortTermTests {
    let crm = "crm"

    @Test func everyShortTermOperationEndToEnd() async throws {
        try await withServer { server in
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            let key = Array("ctx:lead-42".utf8)
            try await client.shortTermPut(namespace: crm, key: key, value: Array("draft".utf8))
            #expect(try await client.shortTermGet(namespace: crm, key: key) == Array("draft".utf8))
            // Short-term and long-term keys of the same name are separate items.
            #expect(try await client.get(namespace: crm, key: key) == nil)
            #expect(try await client.shortTermGet(namespace: "billing", key: key) == nil)
            try await client.shortTermPut(namespace: crm, key: key, value: [], ttl: .never)
            #expect(try await client.shortTermGet(namespace: crm, key: key) == [])

            let values = try await client.shortTermMultiGet(namespace: crm, keys: [key, Array("none".utf8), key])
            #expect(values == [[], nil, []])

            // A TTL of 2 s: returned for at least a second, never for three. (The read right after
            // the put is checked only when it came back within the second: on a machine starved of
            // CPU the answer can take longer, and then the item may rightly be gone.)
            let putStart = ContinuousClock.now
            try await client.shortTermPut(namespace: crm, key: Array("brief".utf8), value: Array("x".utf8), ttl: .seconds(2))
            let brief = try await client.shortTermGet(namespace: crm, key: Array("brief".utf8))
            if putStart.duration(to: .now) < .seconds(1) { #expect(brief == Array("x".utf8)) }
            try await Task.sleep(for: .milliseconds(3_100))
            #expect(try await client.shortTermGet(namespace: crm, key: Array("brief".utf8)) == nil)
            #expect(try await client.shortTermTouch(namespace: crm, key: Array("brief".utf8)) == false)

            // Touch moves the expiry; delete removes. (A TTL of 5 s leaves a loaded machine time to
            // touch before it passes.)
            try await client.shortTermPut(namespace: crm, key: Array("t".utf8), value: Array("v".utf8), ttl: .seconds(5))
            #expect(try await client.shortTermTouch(namespace: crm, key: Array("t".utf8), ttl: .seconds(60)))
            try await Task.sleep(for: .milliseconds(6_100))
            #expect(try await client.shortTermGet(namespace: crm, key: Array("t".utf8)) == Array("v".utf8))
            #expect(try await client.shortTermDelete(namespace: crm, key: Array("t".utf8)))
            #expect(try await client.shortTermDelete(namespace: crm, key: Array("t".utf8)) == false)

            // Limits come back as typed errors.
            let tooLong = await clientError { try await client.shortTermPut(namespace: crm, key: key, value: [], ttl: .seconds(31 * 86_400)) }
            #expect(tooLong?.code == .serverInvalidArgument)
            #expect(tooLong?.message == "a TTL of 2678400 seconds is outside 0 to hotTierTTLSecondsMax 2592000")
            let tooLarge = await clientError { try await client.shortTermPut(namespace: crm, key: key, value: Array(repeating: 1, count: 1 << 20)) }
            #expect(tooLarge?.code == .valueTooLarge)
            let emptyKey = await clientError { _ = try await client.shortTermGet(namespace: crm, key: []) }
            #expect(emptyKey?.code == .serverInvalidArgument)
            let tooMany = await clientError { _ = try await client.shortTermMultiGet(namespace: crm, keys: Array(repeating: key, count: 1_001)) }
            #expect(tooMany?.code == .serverInvalidArgument)
            #expect(tooMany?.message == "a multi-get needs 1 to hotTierMultiGetKeyCountMax 1000 keys, got 1001")

            let stats = Dictionary(uniqueKeysWithValues: try await client.shortTermStats().map { ($0.name, $0.value) })
            #expect(stats["hot_tier.items"] == 1)
            #expect(stats["hot_tier.hits"] == 6)
            #expect(stats["hot_tier.misses"] == 3)
            #expect(stats["hot_tier.expirations"]! >= 1)
            #expect(stats["hot_tier.budget_bytes"] == 256 << 20)
            #expect(stats.keys.contains { $0.hasPrefix("hot_tier.class.") && $0.hasSuffix(".chunks_in_use") })
        }
    }

    /// Values over the answer's budget come back in more than one round trip, in order.
    @Test func aMultiGetLargerThanOneAnswerIsAskedAgainForTheRest() async throws {
        try await withServer { server in
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            var expected: [[UInt8]?] = []
            var keys: [[UInt8]] = []
            for index in 0..<10 {
                let value = Array(repeating: UInt8(index), count: 900 << 10)
                try await client.shortTermPut(namespace: crm, key: Array("big:\(index)".utf8), value: value)
                keys += [Array("big:\(index)".utf8), Array("missing:\(index)".utf8)]
                expected += [value, nil]
            }
            // One answer holds four of the 900 KiB values (scanBytesMax is 4 MiB).
            let first = try await EngramConnection.connect(server.clientConfiguration())
            let response = try await first.send(.shortTermMultiGet(namespace: crm, keys: keys))
            guard case .multiGet(let entries) = response else { throw TestFailure("not a multi-get answer: \(response)") }
            #expect(entries.map(\.state) == [1, 0, 1, 0, 1, 0, 1, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0])
            await first.close()
            #expect(try await client.shortTermMultiGet(namespace: crm, keys: keys) == expected)
        }
    }

    @Test func eachOpcodeNeedsItsRole() async throws {
        try await withServer(arguments: ["--token", "reader:read:crm", "--token", "writer:write:crm", "--token", "boss:admin:*"]) { server in
            let reader = EngramClient(server.clientConfiguration(token: "reader", connections: 1))
            let writer = EngramClient(server.clientConfiguration(token: "writer", connections: 1))
            let boss = EngramClient(server.clientConfiguration(token: "boss", connections: 1))
            defer { Task { await reader.close(); await writer.close(); await boss.close() } }
            try await writer.shortTermPut(namespace: crm, key: Array("k".utf8), value: Array("v".utf8))
            #expect(try await reader.shortTermGet(namespace: crm, key: Array("k".utf8)) == Array("v".utf8))
            #expect(try await reader.shortTermMultiGet(namespace: crm, keys: [Array("k".utf8)]) == [Array("v".utf8)])
            let put = await clientError { try await reader.shortTermPut(namespace: crm, key: Array("k".utf8), value: []) }
            #expect(put?.code == .forbidden)
            #expect(put?.message == "the token has read on namespace crm; short_term_put needs write")
            #expect(await clientError { _ = try await reader.shortTermDelete(namespace: crm, key: Array("k".utf8)) }?.code == .forbidden)
            #expect(await clientError { _ = try await reader.shortTermTouch(namespace: crm, key: Array("k".utf8)) }?.code == .forbidden)
            #expect(await clientError { _ = try await writer.shortTermGet(namespace: "billing", key: Array("k".utf8)) }?.code == .forbidden)
            let stats = await clientError { _ = try await writer.shortTermStats() }
            #expect(stats?.message == "short_term_stats needs an admin grant")
            #expect(try await boss.shortTermStats().isEmpty == false)
            // The fast path's remembered namespace does not carry a grant to another namespace.
            #expect(await clientError { try await writer.shortTermPut(namespace: "billing", key: Array("k".utf8), value: []) }?.code == .forbidden)
            try await writer.shortTermPut(namespace: crm, key: Array("k".utf8), value: Array("w".utf8))
            #expect(try await writer.shortTermTouch(namespace: crm, key: Array("k".utf8), ttl: .never))
        }
    }
}
