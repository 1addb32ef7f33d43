import EngramClient
import EngramProtocol
import Testing

/// Every operation through the client against a real `engramd`.
@Suite(.serialized) struct EndToEndTests {
    let crm = "crm"

    @Test func everyOperationEndToEnd() async throws {
        try await withServer { server in
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }

            let hello = try await client.serverHello()
            #expect(hello.version == 1)
            #expect(hello.openMode)
            #expect(hello.grants == [Grant(role: .admin, namespace: nil)])
            #expect(hello.limits.keyBytesMax == 256)
            #expect(hello.limits.requestFrameBytesMax == 2 << 20)
            _ = try await client.ping(Array("hi".utf8))

            // Long-term: put, get, compare-and-set, delete.
            let first = try await client.put(namespace: crm, key: Array("profile:acme".utf8), value: Array("enterprise".utf8))
            #expect(try await client.get(namespace: crm, key: Array("profile:acme".utf8)) == VersionedValue(version: first, value: Array("enterprise".utf8)))
            #expect(try await client.get(namespace: crm, key: Array("profile:none".utf8)) == nil)
            let second = try await client.compareAndSet(namespace: crm, key: Array("profile:acme".utf8), expectedVersion: first, value: Array("smb".utf8))
            #expect(second > first)
            let conflict = await clientError { try await client.compareAndSet(namespace: crm, key: Array("profile:acme".utf8), expectedVersion: first, value: Array("x".utf8)) }
            #expect(conflict?.code == .versionConflict)
            #expect(conflict?.message == "expected version \(first) for key \"profile:acme\", found version \(second)")
            let created = try await client.compareAndSet(namespace: crm, key: Array("profile:new".utf8), expectedVersion: 0, value: Array("n".utf8))
            #expect(created > second)
            #expect(try await client.delete(namespace: crm, key: Array("profile:new".utf8), expectedVersion: created))
            #expect(try await client.delete(namespace: crm, key: Array("profile:new".utf8)) == false)
            let applied = try await client.put(namespace: crm, key: Array("profile:fast".utf8), value: Array("f".utf8), durability: .applied)
            #expect(try await client.get(namespace: crm, key: Array("profile:fast".utf8))?.version == applied)

            // Long-term scan with paging.
            for index in 0..<25 {
                try await client.put(namespace: crm, key: Array("lead:\(index < 10 ? "0" : "")\(index)".utf8), value: Array("v\(index)".utf8))
            }
            var keys: [String] = []
            var after: [UInt8]? = nil
            var pages = 0
            repeat {
                let page = try await client.scan(namespace: crm, prefix: Array("lead:".utf8), after: after, limit: 10)
                keys += page.entries.map { String(decoding: $0.key, as: UTF8.self) }
                after = page.resumeAfter
                pages += 1
            } while after != nil
            #expect(pages == 3)
            #expect(keys == (0..<25).map { "lead:\($0 < 10 ? "0" : "")\($0)" })

            // Namespaces are separate.
            #expect(try await client.get(namespace: "billing", key: Array("profile:acme".utf8)) == nil)

            // Semantic memory.
            let ids = (0..<5).map { _ in FactID.random() }.sorted()
            let fact = WireFact(tags: ["lead", "email"], vector: [0.25, -0.5, 1], body: Array("prefers email on Tuesdays".utf8))
            let version = try await client.semanticPut(namespace: "kb", id: ids[0], fact: fact)
            #expect(try await client.semanticGet(namespace: "kb", id: ids[0]) == WireStoredFact(id: ids[0], version: version, fact: fact))
            for id in ids.dropFirst() { try await client.semanticPut(namespace: "kb", id: id, fact: WireFact(body: Array("b".utf8))) }
            let firstPage = try await client.semanticScan(namespace: "kb", limit: 3)
            #expect(firstPage.facts.map(\.id) == Array(ids[0..<3]))
            #expect(firstPage.resumeAfter == ids[2])
            let secondPage = try await client.semanticScan(namespace: "kb", after: firstPage.resumeAfter, limit: 3)
            #expect(secondPage.facts.map(\.id) == Array(ids[3..<5]))
            #expect(secondPage.resumeAfter == nil)
            #expect(try await client.semanticDelete(namespace: "kb", id: ids[0]))
            #expect(try await client.semanticGet(namespace: "kb", id: ids[0]) == nil)
            #expect(try await client.semanticDelete(namespace: "kb", id: ids[0]) == false)

            // Limits come back as typed errors and the connection stays usable.
            let tooLarge = await clientError { try await client.put(namespace: crm, key: Array(repeating: 0x6B, count: 300), value: []) }
            #expect(tooLarge?.code == .keyTooLarge)
            #expect(tooLarge?.message == "key of 300 bytes exceeds keyBytesMax 256")
            let badVector = await clientError { try await client.semanticPut(namespace: "kb", id: ids[1], fact: WireFact(vector: [.nan], body: [])) }
            #expect(badVector?.code == .serverInvalidArgument)
            let badNamespace = await clientError { _ = try await client.get(namespace: "no spaces", key: [1]) }
            #expect(badNamespace?.code == .serverInvalidArgument)

            // Stats.
            let stats = Dictionary(uniqueKeysWithValues: try await client.stats().map { ($0.name, $0.value) })
            #expect(stats["long_term.entries"] == 27)
            #expect(stats["semantic.entries"] == 4)
            #expect(stats["store.writes"]! >= 36)
            #expect(stats["server.connections"]! >= 1)
            // The gets above read through the hot tier's long-term cache.
            #expect(stats["long_term_cache.misses"]! >= 1)
            #expect(stats["hot_tier.budget_bytes"]! > 0)
        }
    }

    @Test func writesSurviveARestart() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var server = try ServerProcess.start(dataDirectory: directory.dataDirectory)
        var client = EngramClient(server.clientConfiguration())
        let version = try await client.put(namespace: crm, key: Array("k".utf8), value: Array("v".utf8))
        await client.close()
        expectCleanExit(server.stop())
        server = try ServerProcess.start(dataDirectory: directory.dataDirectory)
        client = EngramClient(server.clientConfiguration())
        #expect(try await client.get(namespace: crm, key: Array("k".utf8)) == VersionedValue(version: version, value: Array("v".utf8)))
        await client.close()
        expectCleanExit(server.stop())
    }

    @Test func theAdminPortServesHealthAndMetrics() async throws {
        try await withServer { server in
            let client = EngramClient(server.clientConfiguration())
            try await client.put(namespace: crm, key: Array("k".utf8), value: Array("v".utf8))
            _ = try await client.get(namespace: crm, key: Array("missing".utf8))
            await client.close()
            let health = try httpGet(port: server.adminPort, path: "/health")
            #expect(health.hasPrefix("HTTP/1.1 200 OK"))
            #expect(health.hasSuffix("ready\n"))
            let metrics = try httpGet(port: server.adminPort, path: "/metrics")
            #expect(metrics.contains("engram_requests_total{opcode=\"long_term_put\"} 1"))
            #expect(metrics.contains("engram_request_errors_total{opcode=\"long_term_get\",status=\"notFound\"} 1"))
            #expect(metrics.contains("engram_request_duration_seconds_bucket{opcode=\"long_term_put\""))
            #expect(metrics.contains("engram_writer_queue_depth 0"))
            #expect(metrics.contains("engram_long_term_entries 1"))
            #expect(metrics.contains("engram_disk_commit_log_bytes"))
            #expect(metrics.contains("engram_hot_tier_budget_bytes"))
            #expect(metrics.contains("engram_long_term_cache_misses 1"))
            #expect(try httpGet(port: server.adminPort, path: "/nothing").hasPrefix("HTTP/1.1 404"))
        }
    }
}

func clientError(_ body: () async throws -> Void) async -> EngramClientError? {
    do {
        try await body()
        return nil
    } catch let error as EngramClientError {
        return error
    } catch {
        return EngramClientError(.protocolViolation, "unexpected error \(error)")
    }
}

/// A one-shot HTTP/1.1 GET over a raw socket.
func httpGet(port: Int, path: String) throws -> String {
    let connection = try RawConnection(port: port)
    try connection.send(Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8))
    return String(decoding: try connection.readAll(), as: UTF8.self)
}
