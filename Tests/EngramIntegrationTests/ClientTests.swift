import EngramClient
import EngramProtocol
import NIOCore
import NIOPosix
import Testing

/// The client library's own promises: pipelining on one connection, reconnection after the
/// server restarts, timeouts, and typed errors for what never reached the server.
@Suite(.serialized) struct ClientTests {
    @Test func manyConcurrentRequestsPipelineOnOneConnection() async throws {
        try await withServer { server in
            let client = EngramClient(server.clientConfiguration(connections: 1))
            try await client.put(namespace: "pipe", key: Array("k".utf8), value: Array("v".utf8))
            let values = try await withThrowingTaskGroup(of: [UInt8]?.self) { tasks in
                for _ in 0..<500 {
                    tasks.addTask { try await client.get(namespace: "pipe", key: Array("k".utf8))?.value }
                }
                var all: [[UInt8]?] = []
                for try await value in tasks { all.append(value) }
                return all
            }
            #expect(values.count == 500)
            #expect(values.allSatisfy { $0 == Array("v".utf8) })
            let connections = try await client.stats().first { $0.name == "server.connections" }?.value
            #expect(connections == 1)
            await client.close()
        }
    }

    @Test func theClientReconnectsAfterTheServerRestarts() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let first = try ServerProcess.start(dataDirectory: directory.dataDirectory)
        let client = EngramClient(first.clientConfiguration(connections: 1))
        let version = try await client.put(namespace: "crm", key: Array("k".utf8), value: Array("v".utf8))
        expectCleanExit(first.stop())
        let unreachable = await clientError { _ = try await client.get(namespace: "crm", key: Array("k".utf8)) }
        #expect(unreachable?.code == .connectFailed)
        #expect(unreachable?.isRetryable == true)
        let second = try ServerProcess.start(dataDirectory: directory.dataDirectory, port: first.port)
        #expect(try await client.get(namespace: "crm", key: Array("k".utf8)) == VersionedValue(version: version, value: Array("v".utf8)))
        await client.close()
        expectCleanExit(second.stop())
    }

    @Test func aRequestWithoutAnAnswerTimesOut() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let silent = try await SilentServer.start(group: group)
        var configuration = EngramClientConfiguration(port: silent.port)
        configuration.requestTimeoutMilliseconds = 200
        configuration.connectionCount = 1
        let connection = try await EngramConnection.connect(configuration, group: group)
        let error = await clientError { _ = try await connection.send(.ping(payload: [])) }
        #expect(error?.code == .timeout)
        #expect(error?.message == "no answer within 200 ms")
        #expect(error?.isRetryable == false)
        await connection.close()
        try await silent.channel.close()
        try await group.shutdownGracefully()
    }

    @Test func nothingListeningIsAConnectFailure() async throws {
        let client = EngramClient(EngramClientConfiguration(port: 1, connectionCount: 1))
        let error = await clientError { _ = try await client.ping() }
        #expect(error?.code == .connectFailed)
        await client.close()
    }
}

/// Answers hello and then nothing: a server that hangs.
struct SilentServer {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    static func start(group: any EventLoopGroup) async throws -> SilentServer {
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(side: .server, frameBytesMax: 1 << 20)))
                    try channel.pipeline.syncOperations.addHandler(HelloOnly())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return SilentServer(channel: channel)
    }

    final class HelloOnly: ChannelInboundHandler {
        typealias InboundIn = Frame
        typealias OutboundOut = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            guard frame.header.opcode == .hello else { return }
            let limits = ServerLimitsReport(requestFrameBytesMax: 1 << 20, responseFrameBytesMax: 1 << 20, inFlightRequestCountMax: 8, namespaceBytesMax: 64, keyBytesMax: 256, valueBytesMax: 1024, scanCountMax: 10, tagCountMax: 1, tagBytesMax: 1, vectorDimensionsMax: 1, idleTimeoutMilliseconds: 1000)
            let answer = Response.hello(HelloResponse(version: 1, openMode: true, limits: limits, grants: [], serverName: "silent"))
            var buffer = context.channel.allocator.buffer(capacity: 128)
            FrameEncoder.writeFrame(into: &buffer, opcode: .hello, requestID: frame.header.requestID) { answer.encodeBody(into: &$0) }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
    }
}
