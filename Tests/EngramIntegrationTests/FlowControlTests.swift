import EngramClient
import EngramProtocol
import NIOCore
import Testing

/// The per-connection bounds: requests in flight and answers waiting for a slow reader.
@Suite(.serialized) struct FlowControlTests {
    /// 300 writes pipelined in one burst against an in-flight limit of 8: the server takes them
    /// eight at a time, and every one is answered.
    @Test func theInFlightLimitPausesAndEveryRequestIsAnswered() async throws {
        try await withServer(arguments: ["--in-flight-max", "8", "--follows-max", "8"]) { server in
            let raw = try RawConnection(port: server.port)
            #expect(try raw.hello().header.status == .ok)
            var burst = ByteBuffer()
            for id in 2...301 {
                FrameEncoder.write(.longTermPut(namespace: "flow", key: Array("k\(id)".utf8), value: Array("v".utf8)), requestID: UInt64(id), into: &burst)
            }
            try raw.send(Array(burst.readableBytesView))
            var answered = Set<UInt64>()
            for _ in 2...301 {
                let frame = try raw.readFrame()
                #expect(frame.header.status == .ok)
                answered.insert(frame.header.requestID)
            }
            #expect(answered == Set(2...301))
            let metrics = try httpGet(port: server.adminPort, path: "/metrics")
            #expect(metrics.contains("engram_read_pauses_total"))
            #expect(!metrics.contains("engram_read_pauses_total 0"))
        }
    }

    /// A client that asks for large values and never reads them: the server stops at the slow-
    /// reader bound instead of buffering every answer, then closes the connection; a well-behaved
    /// client is served throughout.
    @Test func aSlowReaderIsBoundedThenClosed() async throws {
        try await withServer(arguments: ["--slow-reader-bytes-max", "262144", "--slow-reader-timeout-ms", "300"]) { server in
            let client = EngramClient(server.clientConfiguration(connections: 1))
            let large = [UInt8](repeating: 0x61, count: 512 << 10)
            try await client.put(namespace: "flow", key: Array("large".utf8), value: large)
            let raw = try RawConnection(port: server.port)
            #expect(try raw.hello().header.status == .ok)
            var burst = ByteBuffer()
            for id in 2...201 {
                FrameEncoder.write(.longTermGet(namespace: "flow", key: Array("large".utf8)), requestID: UInt64(id), into: &burst)
            }
            // 200 answers of 512 KiB would be 100 MiB; the server must not queue them all.
            try raw.send(Array(burst.readableBytesView))
            try await Task.sleep(for: .milliseconds(1_500))
            #expect(try await client.get(namespace: "flow", key: Array("large".utf8))?.value.count == large.count)
            let metrics = try httpGet(port: server.adminPort, path: "/metrics")
            #expect(metrics.contains("engram_slow_reader_connections_closed_total 1"))
            // The connection ends: whatever was sent before the close, then end of file.
            var answers = 0
            while let frame = try? raw.readFrame() {
                #expect(frame.header.status == .ok)
                answers += 1
            }
            #expect(answers < 200)
            await client.close()
        }
    }
}
