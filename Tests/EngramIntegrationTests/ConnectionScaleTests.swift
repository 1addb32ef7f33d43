import EngramClient
import EngramProtocol
import NIOPosix
import Testing

@Suite(.serialized) struct ConnectionScaleTests {
    /// 1,000 connections open at once, each authenticated, each served while all are held.
    @Test func aThousandConcurrentConnectionsAreEachServed() async throws {
        // A minute for each hello: on a machine starved of CPU a thousand connections' hellos can
        // take longer than the default 10 s to be sent, and the server would rightly close them.
        try await withServer(arguments: ["--hello-timeout-ms", "60000"]) { server in
            let count = 1_000
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            var settings = server.clientConfiguration()
            settings.requestTimeoutMilliseconds = 30_000
            settings.connectTimeoutMilliseconds = 30_000
            let configuration = settings
            let connections = try await withThrowingTaskGroup(of: EngramConnection.self) { tasks in
                for _ in 0..<count {
                    tasks.addTask { try await EngramConnection.connect(configuration, group: group) }
                }
                var opened: [EngramConnection] = []
                for try await connection in tasks { opened.append(connection) }
                return opened
            }
            #expect(connections.count == count)
            let statistics = try await connections[0].send(.stats)
            guard case .stats(let values) = statistics else { throw TestFailure("no stats: \(statistics)") }
            #expect(values.first { $0.name == "server.connections" }?.value == UInt64(count))

            // Every held connection writes its own key and reads it back.
            let served = try await withThrowingTaskGroup(of: Bool.self) { tasks in
                for (index, connection) in connections.enumerated() {
                    tasks.addTask {
                        let key = Array("connection:\(index)".utf8)
                        let put = try await connection.send(.longTermPut(namespace: "scale", key: key, value: Array("\(index)".utf8)))
                        guard case .version(let version) = put else { return false }
                        let get = try await connection.send(.longTermGet(namespace: "scale", key: key))
                        return get == .value(version: version, value: Array("\(index)".utf8))
                    }
                }
                var servedCount = 0
                for try await ok in tasks where ok { servedCount += 1 }
                return servedCount
            }
            #expect(served == count)
            for connection in connections { await connection.close() }
            try await group.shutdownGracefully()
        }
    }

    /// Past the connection limit, a new connection gets a `busy` frame and is closed.
    @Test func connectionsPastTheLimitGetBusy() async throws {
        try await withServer(arguments: ["--connections-max", "2"]) { server in
            let first = try RawConnection(port: server.port)
            let second = try RawConnection(port: server.port)
            #expect(try first.hello().header.status == .ok)
            #expect(try second.hello().header.status == .ok)
            let third = try RawConnection(port: server.port)
            let answer = try third.readFrame()
            #expect(answer.header.status == .busy)
            #expect(answer.header.requestID == 0)
            #expect(answer.errorMessage == "the server is at its limit of 2 connections; retry shortly")
            #expect(try third.readsEndOfFile())
            let metrics = try httpGet(port: server.adminPort, path: "/metrics")
            #expect(metrics.contains("engram_server_rejected_connections_total 1"))
        }
    }

    /// A connection that says nothing is closed after the hello timeout.
    @Test func aSilentConnectionIsClosedAfterTheHelloTimeout() async throws {
        try await withServer(arguments: ["--hello-timeout-ms", "200"]) { server in
            let raw = try RawConnection(port: server.port)
            #expect(try raw.readsEndOfFile())
            let metrics = try httpGet(port: server.adminPort, path: "/metrics")
            #expect(metrics.contains("engram_hello_timeouts_total 1"))
        }
    }

    /// An idle authenticated connection is closed after the idle timeout.
    @Test func anIdleConnectionIsClosed() async throws {
        try await withServer(arguments: ["--idle-timeout-ms", "300"]) { server in
            let raw = try RawConnection(port: server.port)
            #expect(try raw.hello().header.status == .ok)
            #expect(try raw.readsEndOfFile())
        }
    }
}
