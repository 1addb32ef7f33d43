import EngramClient
import EngramProtocol
import Testing

/// Bad input over a raw socket, one case each. Every test keeps a well-behaved client connection
/// open and checks it is served before and after the bad connection did its worst.
@Suite(.serialized) struct BadInputTests {
    static let arguments = ["--token", "writer:write:crm", "--token", "reader:read:crm", "--token", "boss:admin:*"]

    /// Runs `body` against a server with tokens, with a well-behaved client around it.
    func withBadConnection(_ body: (ServerProcess) async throws -> Void) async throws {
        try await withServer(arguments: Self.arguments) { server in
            let client = EngramClient(server.clientConfiguration(token: "writer", connections: 1))
            try await client.put(namespace: "crm", key: Array("before".utf8), value: Array("1".utf8))
            try await body(server)
            try await client.put(namespace: "crm", key: Array("after".utf8), value: Array("2".utf8))
            #expect(try await client.get(namespace: "crm", key: Array("before".utf8))?.value == Array("1".utf8))
            #expect(try await client.get(namespace: "crm", key: Array("after".utf8))?.value == Array("2".utf8))
            await client.close()
        }
    }

    @Test func garbageBytesGetMalformedFrameAndAClose() async throws {
        try await withBadConnection { server in
            let raw = try RawConnection(port: server.port)
            try raw.send(Array("GET / HTTP/1.1\r\nHost: engram\r\n\r\n".utf8))
            let answer = try raw.readFrame()
            #expect(answer.header.status == .malformedFrame)
            #expect(answer.header.requestID == 0)
            #expect(answer.header.opcode == .none)
            #expect(answer.errorMessage == "the frame starts with 47 45, not the magic 45 47 (\"EG\")")
            #expect(try raw.readsEndOfFile())
        }
    }

    @Test func aLengthOverTheLimitGetsFrameTooLargeBeforeTheBody() async throws {
        try await withBadConnection { server in
            let raw = try RawConnection(port: server.port)
            #expect(try raw.hello(token: "writer").header.status == .ok)
            try raw.send(headerBytes(opcode: Opcode.longTermPut.rawValue, requestID: 7, bodyLength: 3 << 20))
            let answer = try raw.readFrame()
            #expect(answer.header.status == .frameTooLarge)
            #expect(answer.header.requestID == 7)
            #expect(answer.header.opcode == .longTermPut)
            #expect(answer.errorMessage == "body of 3145728 bytes exceeds the limit of 2097132 (frame limit 2097152 bytes)")
            #expect(try raw.readsEndOfFile())
        }
    }

    @Test func aTruncatedFrameThenCloseIsReportedAndClosed() async throws {
        try await withBadConnection { server in
            let raw = try RawConnection(port: server.port)
            #expect(try raw.hello(token: "writer").header.status == .ok)
            try raw.send(headerBytes(opcode: Opcode.longTermGet.rawValue, requestID: 9, bodyLength: 40) + [3, 0x63, 0x72, 0x6D])
            raw.shutdownWriting()
            let answer = try raw.readFrame()
            #expect(answer.header.status == .malformedFrame)
            #expect(answer.header.requestID == 9)
            #expect(answer.errorMessage == "the connection closed after 24 bytes of a frame of 60 bytes")
            #expect(try raw.readsEndOfFile())
        }
    }

    @Test func anUnknownOpcodeIsAnsweredAndTheConnectionStaysOpen() async throws {
        try await withBadConnection { server in
            let raw = try RawConnection(port: server.port)
            #expect(try raw.hello(token: "writer").header.status == .ok)
            try raw.send(headerBytes(opcode: 0x0150, requestID: 11, bodyLength: 3) + [1, 2, 3])
            let answer = try raw.readFrame()
            #expect(answer.header.status == .unknownOpcode)
            #expect(answer.header.requestID == 11)
            #expect(answer.errorMessage == "opcode 0x150 is not one this server knows")
            try raw.send(.ping(payload: [42]), id: 12)
            let pong = try raw.readFrame()
            #expect(pong.header.requestID == 12)
            #expect(try Response.decode(pong) == .pong(payload: [42]))
        }
    }

    @Test func anUnsupportedVersionIsAnsweredAndClosed() async throws {
        try await withBadConnection { server in
            let raw = try RawConnection(port: server.port)
            try raw.send(headerBytes(version: 2, opcode: Opcode.hello.rawValue, requestID: 1, bodyLength: 0))
            let answer = try raw.readFrame()
            #expect(answer.header.status == .unsupportedVersion)
            #expect(answer.header.version == 1)
            #expect(answer.errorMessage == "frame version 2; this side speaks 1 to 1")
            #expect(try raw.readsEndOfFile())

            let second = try RawConnection(port: server.port)
            try second.send(.hello(HelloRequest(versionMin: 2, versionMax: 3, token: Array("writer".utf8), clientName: "future")), id: 1)
            let refused = try second.readFrame()
            #expect(refused.header.status == .unsupportedVersion)
            #expect(refused.errorMessage == "the client speaks versions 2 to 3; this server speaks 1 to 1")
            #expect(try second.readsEndOfFile())
        }
    }

    @Test func aRequestBeforeHelloIsUnauthenticatedAndTheConnectionStaysOpen() async throws {
        try await withBadConnection { server in
            let raw = try RawConnection(port: server.port)
            try raw.send(.longTermGet(namespace: "crm", key: Array("before".utf8)), id: 5)
            let answer = try raw.readFrame()
            #expect(answer.header.status == .unauthenticated)
            #expect(answer.header.requestID == 5)
            #expect(answer.errorMessage == "say hello with a token before long_term_get")
            #expect(try raw.hello(token: "reader").header.status == .ok)
            try raw.send(.longTermGet(namespace: "crm", key: Array("before".utf8)), id: 6)
            #expect(try Response.decode(try raw.readFrame()) == .value(version: 1, value: Array("1".utf8)))
        }
    }

    @Test func aWrongTokenIsUnauthenticatedAndClosed() async throws {
        try await withBadConnection { server in
            let raw = try RawConnection(port: server.port)
            let answer = try raw.hello(token: "writes")
            #expect(answer.header.status == .unauthenticated)
            #expect(answer.errorMessage == "the token is not known to this server")
            #expect(try raw.readsEndOfFile())
            let client = EngramClient(server.clientConfiguration(token: "nobody", connections: 1))
            #expect(await clientError { _ = try await client.ping() }?.code == .unauthenticated)
            await client.close()
        }
    }

    @Test func aWriteWithAReadOnlyTokenIsForbidden() async throws {
        try await withBadConnection { server in
            let raw = try RawConnection(port: server.port)
            let hello = try Response.decode(try raw.hello(token: "reader"))
            guard case .hello(let answer) = hello else { throw TestFailure("no hello: \(hello)") }
            #expect(answer.grants == [Grant(role: .read, namespace: "crm")])
            #expect(answer.openMode == false)
            try raw.send(.longTermPut(namespace: "crm", key: Array("k".utf8), value: Array("v".utf8)), id: 2)
            let answerToPut = try raw.readFrame()
            #expect(answerToPut.header.status == .forbidden)
            #expect(answerToPut.errorMessage == "the token has read on namespace crm; long_term_put needs write")
            try raw.send(.stats, id: 3)
            #expect(try raw.readFrame().errorMessage == "stats needs an admin grant")
            try raw.send(.longTermGet(namespace: "crm", key: Array("k".utf8)), id: 4)
            #expect(try raw.readFrame().header.status == .notFound)
        }
    }

    @Test func anotherNamespaceIsForbidden() async throws {
        try await withBadConnection { server in
            let client = EngramClient(server.clientConfiguration(token: "writer", connections: 1))
            let error = await clientError { _ = try await client.get(namespace: "billing", key: Array("before".utf8)) }
            #expect(error?.code == .forbidden)
            #expect(error?.message == "the token has no grant on namespace billing; long_term_get needs read")
            let admin = EngramClient(server.clientConfiguration(token: "boss", connections: 1))
            let missing = try await admin.get(namespace: "billing", key: Array("before".utf8))
            #expect(missing == nil)
            let statistics = try await admin.stats()
            #expect(statistics.isEmpty == false)
            await client.close()
            await admin.close()
        }
    }

    @Test func durabilityFlagsOnAReadAreMalformed() async throws {
        try await withBadConnection { server in
            let raw = try RawConnection(port: server.port)
            #expect(try raw.hello(token: "writer").header.status == .ok)
            try raw.send(.longTermGet(namespace: "crm", key: Array("k".utf8)), id: 3, flags: .applied)
            let answer = try raw.readFrame()
            #expect(answer.header.status == .malformedFrame)
            #expect(answer.errorMessage == "durability flags on long_term_get, which does not write")
            #expect(try raw.readsEndOfFile())
        }
    }
}
