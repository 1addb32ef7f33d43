#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol
import NIOCore
import Synchronization
import Testing

/// Slow and stalled readers and a flood of connections past the limit, all at once, against the
/// real server (issue 7, "Fault tests"): its memory stays within the bounds it is configured with
/// (the peak resident set, `VmHWM` of /proc, against what the per-connection bounds allow),
/// stalled connections are closed by the timeouts, every connection past the limit gets `busy`,
/// and well-behaved clients are served throughout, every answer checked exactly.
@Suite(.serialized) struct ReaderFloodTests {
    static let connectionsMax = 64
    static let slowReaderBytesMax = 256 << 10
    static let slowReaders = 16
    static let stalled = 8
    static let flood = 150
    static let goodClients = 4
    static let largeValueBytes = 512 << 10
    /// Per slow reader: its answer bound, one answer past it (the bound is checked between
    /// frames), its request cumulation. Plus room for the allocator and NIO's pools.
    static let perSlowReaderBytes = slowReaderBytesMax + largeValueBytes + (64 << 10)
    /// Room for the allocator, NIO's pools and the process's threads. 64 MiB: glibc raises its
    /// mmap threshold as large blocks are freed, so the 512 KiB answers freed early are kept in the
    /// heap and reused rather than returned; a quiet machine, where the good clients are served
    /// fastest, peaked 5 MiB over a 48 MiB slack. Unbounded answers would be 1,600 MiB.
    static let slackBytes = 64 << 20

    @Test func memoryStaysBoundedStalledConnectionsCloseAndOthersAreServed() async throws {
        let arguments = ["--connections-max", "\(Self.connectionsMax)", "--slow-reader-bytes-max", "\(Self.slowReaderBytesMax)",
                         "--slow-reader-timeout-ms", "600", "--idle-timeout-ms", "2000", "--hello-timeout-ms", "800"]
        try await withServer(arguments: arguments) { server in
            let setup = EngramClient(server.clientConfiguration(connections: 1))
            let large = (0..<Self.largeValueBytes).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            _ = try await resending { try await setup.put(namespace: "flood", key: Array("large".utf8), value: large) }
            for _ in 0..<20 { #expect(try await resending { try await setup.get(namespace: "flood", key: Array("large".utf8)) }?.value == large) }
            await setup.close()
            let baseline = try residentBytes(of: server.pid)

            // Well-behaved clients, each writing and reading its own keys, checked exactly. Each
            // connects (a ping) before the storm, so the flood cannot take its place.
            var goodClients: [EngramClient] = []
            for _ in 0..<Self.goodClients {
                let client = EngramClient(server.clientConfiguration(connections: 1))
                _ = try await resending { try await client.ping() }
                goodClients.append(client)
            }
            let stop = StopFlag()
            // What the hot tier holds when the flood ends (the good clients' values and the
            // read-through cache fill it): memory the server keeps by design, within its own budget.
            var hotTierBytes = 0
            let served = try await withThrowingTaskGroup(of: Int.self) { tasks in
                for (index, client) in goodClients.enumerated() {
                    tasks.addTask { try await Self.serveGoodClient(client, index, stop) }
                }

                // Slow readers: 200 gets of 512 KiB each (100 MiB of answers), never read.
                var slowReaders: [RawConnection] = []
                for _ in 0..<Self.slowReaders {
                    let raw = try RawConnection(port: server.port, receiveBufferBytes: 4_096)
                    #expect(try raw.hello().header.status == .ok)
                    var burst = ByteBuffer()
                    for id in 2...201 { FrameEncoder.write(.longTermGet(namespace: "flood", key: Array("large".utf8)), requestID: UInt64(id), into: &burst) }
                    try raw.send(Array(burst.readableBytesView))
                    slowReaders.append(raw)
                }
                // Stalled: a hello, then half a frame, then nothing.
                var stalled: [RawConnection] = []
                for _ in 0..<Self.stalled {
                    let raw = try RawConnection(port: server.port)
                    #expect(try raw.hello().header.status == .ok)
                    try raw.send(Array(headerBytes(opcode: Opcode.longTermGet.rawValue, requestID: 9, bodyLength: 40).prefix(12)))
                    stalled.append(raw)
                }
                // The flood: connections that say nothing, past the limit.
                var flood: [RawConnection] = []
                for _ in 0..<Self.flood { flood.append(try RawConnection(port: server.port)) }
                var busy = 0
                var admitted = 0
                for raw in flood {
                    if let frame = try? raw.readFrame() {
                        #expect(frame.header.status == .busy && frame.header.requestID == 0)
                        #expect(try raw.readsEndOfFile())
                        busy += 1
                    } else {
                        admitted += 1 // admitted, then closed by the hello timeout
                    }
                }
                // Slow readers may be closed (freeing slots) while the flood arrives, so the count
                // admitted is at most the limit, and every one past what is open is refused.
                #expect(admitted <= Self.connectionsMax - Self.goodClients && busy >= Self.flood - Self.connectionsMax)
                #expect(busy + admitted == Self.flood)

                // Every stalled connection and slow reader is closed by its timeout.
                for raw in stalled { #expect(try raw.readsEndOfFile()) }
                for raw in slowReaders {
                    let bytes = try raw.readAll()
                    #expect(bytes.count < 200 * Self.largeValueBytes, "a slow reader got every answer: it was never bounded")
                }
                stop.stopped.store(true, ordering: .relaxed)
                var served: [Int] = []
                for try await count in tasks { served.append(count) }
                let metrics = try httpGet(port: server.adminPort, path: "/metrics")
                #expect(metrics.contains("engram_server_rejected_connections_total \(busy)"))
                #expect(metrics.contains("engram_slow_reader_connections_closed_total \(Self.slowReaders)"))
                hotTierBytes = metrics.split(separator: "\n").first { $0.hasPrefix("engram_hot_tier_bytes_in_use ") }
                    .flatMap { Double($0.split(separator: " ")[1]) }.map { Int($0) } ?? 0
                let closing = metrics.split(separator: "\n").filter { $0.contains("closed_total") || $0.contains("timeouts") }
                // At least the stalled ones: on a machine starved of CPU a client may sit idle too.
                let idleClosed = closing.first { $0.hasPrefix("engram_idle_connections_closed_total ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
                #expect(idleClosed >= Self.stalled, "\(closing)")
                #expect(metrics.contains("engram_hello_timeouts_total \(admitted)"), "\(closing)")
                return served
            }
            let peak = try residentBytes(of: server.pid, field: "VmHWM")
            let bound = baseline + hotTierBytes + Self.slowReaders * Self.perSlowReaderBytes + Self.slackBytes
            print("ReaderFloodTests: resident \(baseline >> 20) MiB before, hot tier \(hotTierBytes >> 20) MiB, peak \(peak >> 20) MiB during (bound \(bound >> 20) MiB; unbounded answers would be \((Self.slowReaders * 200 * Self.largeValueBytes) >> 20) MiB); good clients served \(served) requests")
            #expect(peak <= bound, "peak resident \(peak >> 20) MiB over the bound of \(bound >> 20) MiB")
            #expect(served.allSatisfy { $0 >= 20 }, "a well-behaved client was starved: \(served)")
        }
    }

    /// Puts and gets of the client's own keys until `stop`; every answer exact. Returns how many.
    static func serveGoodClient(_ client: EngramClient, _ index: Int, _ stop: StopFlag) async throws -> Int {
        var count = 0
        while !stop.stopped.load(ordering: .relaxed) {
            let key = Array("good-\(index)-\(count % 50)".utf8)
            let value = Array("value \(index) \(count)".utf8)
            let version = try await resending { try await client.put(namespace: "flood", key: key, value: value) }
            let found = try await resending { try await client.get(namespace: "flood", key: key) }
            #expect(found == VersionedValue(version: version, value: value))
            count += 2
        }
        await client.close()
        return count
    }
}

/// Sends again a request the server never read (`notExecuted`: its connection was closed first,
/// as idle, while a starved machine kept this client from sending), as a real client would; the
/// pool reconnects on the next request. Any other error is the test's.
func resending<T>(_ request: () async throws -> T) async throws -> T {
    for _ in 0..<5 {
        do {
            return try await request()
        } catch let error as EngramClientError where error.code == .notExecuted {
            continue
        }
    }
    return try await request()
}

/// Tells the well-behaved clients to finish.
final class StopFlag: Sendable {
    let stopped = Atomic<Bool>(false)
}
