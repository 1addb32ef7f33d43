#if canImport(Glibc)
import Glibc
#endif
import EngramProtocol
import NIOCore
import Testing

/// Keeps the hex examples in docs/PROTOCOL.md true: they are produced here by the encoder and
/// compared with the document. Run with `ENGRAM_UPDATE_PROTOCOL_DOC=1` to rewrite them.
@Suite struct ProtocolDocumentTests {
    static let limits = ServerLimitsReport(requestFrameBytesMax: 2 << 20, responseFrameBytesMax: 4_226_603, inFlightRequestCountMax: 128, namespaceBytesMax: 64, keyBytesMax: 256, valueBytesMax: 1 << 20, scanCountMax: 1000, tagCountMax: 32, tagBytesMax: 64, vectorDimensionsMax: 4096, idleTimeoutMilliseconds: 300_000)
    static let factID = FactID("6f1c2a9e-0b7d-4e21-9c3a-5d8e7f6a1b2c")!

    /// Each example: a title, what it shows, and the frame's bytes.
    static func examples() -> [(String, ByteBuffer)] {
        func request(_ request: Request, _ id: UInt64, flags: FrameFlags = []) -> ByteBuffer {
            var buffer = ByteBuffer()
            FrameEncoder.write(request, requestID: id, flags: flags, into: &buffer)
            return buffer
        }
        func response(_ opcode: Opcode, _ id: UInt64, _ response: Response) -> ByteBuffer {
            var buffer = ByteBuffer()
            FrameEncoder.writeFrame(into: &buffer, opcode: opcode, requestID: id, status: response.status) { response.encodeBody(into: &$0) }
            return buffer
        }
        return [
            ("hello request: versions 1 to 1, durable default, token \"s3cret\", client \"triage\", request id 1",
             request(.hello(HelloRequest(token: Array("s3cret".utf8), clientName: "triage")), 1)),
            ("hello response: version 1, default limits, one grant (write on \"crm\"), server \"engramd\"",
             response(.hello, 1, .hello(HelloResponse(version: 1, openMode: false, limits: limits, grants: [Grant(role: .write, namespace: "crm")], serverName: "engramd")))),
            ("ping request with the payload \"hi\", request id 2",
             request(.ping(payload: Array("hi".utf8)), 2)),
            ("long-term put of \"enterprise\" at key \"profile:acme\" in \"crm\", connection default durability, request id 3",
             request(.longTermPut(namespace: "crm", key: Array("profile:acme".utf8), value: Array("enterprise".utf8)), 3)),
            ("the same put asking for applied durability (flags 0x02), request id 4",
             request(.longTermPut(namespace: "crm", key: Array("profile:acme".utf8), value: Array("enterprise".utf8)), 4, flags: .applied)),
            ("its response: version 42",
             response(.longTermPut, 4, .version(42))),
            ("long-term get of \"profile:acme\" in \"crm\", request id 5",
             request(.longTermGet(namespace: "crm", key: Array("profile:acme".utf8)), 5)),
            ("its response: version 42, value \"enterprise\"",
             response(.longTermGet, 5, .value(version: 42, value: Array("enterprise".utf8)))),
            ("a get of a missing key: status notFound (1), empty message",
             response(.longTermGet, 6, .failure(.notFound, message: ""))),
            ("compare-and-set expecting version 41, request id 7",
             request(.longTermCompareAndSet(namespace: "crm", key: Array("profile:acme".utf8), expectedVersion: 41, value: Array("smb".utf8)), 7)),
            ("its failure: status versionConflict (2)",
             response(.longTermCompareAndSet, 7, .failure(.versionConflict, message: "expected version 41 for key \"profile:acme\", found version 42"))),
            ("long-term scan of prefix \"lead:\" from the start, limit 2, request id 8",
             request(.longTermScan(namespace: "crm", prefix: Array("lead:".utf8), after: [], limit: 2), 8)),
            ("its response: two entries and the resume key \"lead:2\"",
             response(.longTermScan, 8, .longTermPage(entries: [WireEntry(key: Array("lead:1".utf8), version: 7, value: Array("a".utf8)), WireEntry(key: Array("lead:2".utf8), version: 9, value: Array("b".utf8))], resumeAfter: Array("lead:2".utf8)))),
            ("semantic put of a fact with tag \"lead\", a 2-dimension vector (0.5, -1) and body \"likes email\" in \"kb\", request id 9",
             request(.semanticPut(namespace: "kb", id: factID, fact: WireFact(tags: ["lead"], vector: [0.5, -1], body: Array("likes email".utf8))), 9)),
            ("semantic scan of \"kb\" after nothing, limit 10, request id 10",
             request(.semanticScan(namespace: "kb", after: nil, limit: 10), 10)),
            ("a request from a read-only token: status forbidden (105)",
             response(.longTermPut, 11, .failure(.forbidden, message: "the token has read on namespace crm; long_term_put needs write"))),
            ("the server's answer to bytes that are not a frame: malformedFrame (100) with request id 0, then close",
             response(.none, 0, .failure(.malformedFrame, message: "the frame starts with 47 45, not the magic 45 47 (\"EG\")"))),
            ("going away, sent by the server on shutdown: 12 requests were read",
             response(.goingAway, 0, .goingAway(requestsRead: 12))),
        ]
    }

    static func render() -> String {
        var text = ""
        for (title, frame) in examples() {
            text += "\n\(title):\n\n```\n"
            let bytes = Array(frame.readableBytesView)
            var offset = 0
            while offset < bytes.count {
                let line = bytes[offset..<min(offset + 16, bytes.count)]
                let hex = line.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
                let offsetText = String(offset, radix: 16)
                text += String(repeating: "0", count: 4 - offsetText.count) + offsetText + "  " + hex + "\n"
                offset += 16
            }
            text += "```\n"
        }
        return text + "\n"
    }

    static let beginMarker = "<!-- frames:begin -->"
    static let endMarker = "<!-- frames:end -->"

    static var documentPath: String {
        let file = "\(#filePath)"
        let root = file.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        return root + "/docs/PROTOCOL.md"
    }

    @Test func theDocumentsHexExamplesMatchTheEncoder() throws {
        let document = try readText(Self.documentPath)
        guard let begin = document.firstRange(of: Self.beginMarker), let end = document.firstRange(of: Self.endMarker) else {
            Issue.record("docs/PROTOCOL.md lacks the frame markers")
            return
        }
        let current = String(document[begin.upperBound..<end.lowerBound])
        let expected = Self.render()
        if getenv("ENGRAM_UPDATE_PROTOCOL_DOC") != nil && current != expected {
            let updated = String(document[..<begin.upperBound]) + expected + String(document[end.lowerBound...])
            try writeText(Self.documentPath, updated)
            return
        }
        #expect(current == expected, "docs/PROTOCOL.md examples differ from the encoder; rerun with ENGRAM_UPDATE_PROTOCOL_DOC=1")
    }

    @Test func everyExampleDecodes() throws {
        for (title, frame) in Self.examples() {
            var buffer = frame
            // Requests are the examples whose frame carries a request opcode and status 0 and
            // whose title says "request id"; responses say what they answer.
            let isRequest = title.contains(", request id") || title.hasSuffix("request id 1")
            let side: FrameDecoder.Side = isRequest ? .server : .client
            var decoder = FrameDecoder(side: side, frameBytesMax: 1 << 20)
            let decoded = try #require(try decoder.decodeFrame(&buffer), "\(title)")
            #expect(buffer.readableBytes == 0, "\(title)")
            if side == .server {
                #expect(try Request.decode(decoded) != nil, "\(title)")
            } else {
                _ = try Response.decode(decoded)
            }
        }
    }
}

func readText(_ path: String) throws -> String {
    guard let file = fopen(path, "r") else { throw ProtocolError(.malformedBody, "cannot open \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count <= 0 { break }
        bytes += chunk[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

func writeText(_ path: String, _ text: String) throws {
    guard let file = fopen(path, "w") else { throw ProtocolError(.malformedBody, "cannot write \(path)") }
    defer { fclose(file) }
    let bytes = Array(text.utf8)
    _ = fwrite(bytes, 1, bytes.count, file)
}
