import NIOCore

/// The message bodies' fuzz target: every opcode's request and response decoder
/// (docs/PROTOCOL.md, one section per opcode).
///
/// Input: `opcode:u8 control:u8 body`. The opcode byte, modulo the length of `opcodes`, picks
/// one of the request opcodes of version 1, going away, or an opcode no version defines. Control
/// bit 0: the body is a response (else a request); bit 1: the response frame carries the `more`
/// flag; bits 2-7: the response's status, 0 for ok, else `statusChoice`.
///
/// A request body must be exactly its layout: what `Request.decode` accepts encodes back to the
/// same bytes, an unknown opcode gives nil, anything else is `malformedBody` naming the opcode and
/// the request id. For short-term gets and puts, `ShortTermRequestView.parse` (the server's fast
/// path) must accept exactly the bodies with an ASCII namespace that `Request.decode` accepts,
/// with the same fields. A response body may grow at its end: what `Response.decode` accepts
/// encodes back to a prefix of the body (an error body may also be empty, read as no message;
/// the hello's server flags bits 1-7 are ignored) and decodes again to the same response.
enum MessageFuzzTarget {
    static let undefinedOpcode = Opcode(rawValue: 0x7EFF)
    static let opcodes: [Opcode] = Opcode.requests + [.goingAway, undefinedOpcode]
    static let requestID: UInt64 = 0x0102_0304_0506_0708

    /// Statuses 1 to 31 (the engine's codes and unknown ones), then 100 onward.
    static func statusChoice(_ bits: UInt8) -> Status {
        Status(rawValue: bits < 32 ? UInt16(bits) : 100 + UInt16(bits - 32))
    }

    static func run(_ buffer: UnsafeRawBufferPointer) -> Bool {
        guard buffer.count >= 2 else { return false }
        let opcode = opcodes[Int(buffer[0]) % opcodes.count]
        let control = buffer[1]
        let body = Array(buffer[2...])
        let isSnapshot = Opcode.snapshotRequests.contains(opcode)
        if control & 1 == 0 { return isSnapshot ? snapshotRequest(opcode, body) : request(opcode, body) }
        let status = control >> 2 == 0 ? Status.ok : statusChoice(control >> 2)
        if isSnapshot && status == .ok { return snapshotResponse(opcode, body) }
        return response(opcode, status: status, more: control & 2 != 0, body)
    }

    /// The snapshot opcodes' requests (docs/PROTOCOL.md, "Snapshots"), which the server decodes with
    /// their own types rather than `Request`: exact layouts, so what is accepted encodes back to
    /// the same bytes. `Request.decode` must leave them alone (nil).
    static func snapshotRequest(_ opcode: Opcode, _ body: [UInt8]) -> Bool {
        protocolFuzzCheck((try? Request.decode(frame(opcode, body))) == nil, "message", "Request.decode accepted a \(opcode) body, which has its own decoder")
        var reader = BodyReader(ByteBuffer(bytes: body), opcode: opcode, requestID: requestID)
        var encoded = ByteBuffer()
        do throws(ProtocolError) {
            switch opcode {
            case .snapshotOpen: try SnapshotOpenRequest.decode(&reader).encode(into: &encoded)
            case .snapshotRead: try SnapshotReadRequest.decode(&reader).encode(into: &encoded)
            default: try SnapshotCloseRequest.decode(&reader).encode(into: &encoded)
            }
        } catch {
            checkRefusal(error, opcode, "a request")
            return false
        }
        let again = Array(encoded.readableBytesView)
        protocolFuzzCheck(again == body, "message", "a request of \(opcode) decodes to one that encodes differently: \(protocolFirstDifference(body, again))")
        return true
    }

    /// The snapshot opcodes' answers with status ok: the open response (may grow at its end), a
    /// stream's chunk (exactly `row count` well-framed rows, nothing after them) and the close's
    /// `existed` flag (0 or 1).
    static func snapshotResponse(_ opcode: Opcode, _ body: [UInt8]) -> Bool {
        var reader = BodyReader(ByteBuffer(bytes: body), opcode: opcode, requestID: requestID)
        var encoded = ByteBuffer()
        do throws(ProtocolError) {
            switch opcode {
            case .snapshotOpen:
                try SnapshotOpenResponse.decode(&reader).encode(into: &encoded)
            case .snapshotRead:
                let chunk = try SnapshotChunk.decode(&reader)
                var rowsSeen = 0
                chunk.forEachRow { _ in rowsSeen += 1 }
                protocolFuzzCheck(rowsSeen == chunk.rowCount, "message", "a chunk of \(chunk.rowCount) rows walked as \(rowsSeen)")
                let flagsIndex = SnapshotChunk.writeHeader(chunkIndex: chunk.chunkIndex, into: &encoded)
                var rows = chunk.rows
                encoded.writeBuffer(&rows)
                SnapshotChunk.patch(&encoded, flagsIndex: flagsIndex, isEnd: chunk.isEnd, rowCount: chunk.rowCount)
                protocolFuzzCheck(encoded.readableBytes == body.count, "message", "a chunk of \(body.count) bytes decoded from \(encoded.readableBytes) of them")
            default:
                encoded.writeInteger(UInt8(try reader.readFlag("existed") ? 1 : 0))
            }
        } catch {
            checkRefusal(error, opcode, "a response")
            return false
        }
        let again = Array(encoded.readableBytesView)
        protocolFuzzCheck(body.starts(with: again), "message", "a response of \(opcode) decodes to one that encodes differently: \(protocolFirstDifference(body, again))")
        return true
    }

    static func frame(_ opcode: Opcode, status: Status = .ok, flags: FrameFlags = [], _ body: [UInt8]) -> Frame {
        Frame(header: FrameHeader(flags: flags, opcode: opcode, status: status, requestID: requestID), body: ByteBuffer(bytes: body))
    }

    static func checkRefusal(_ error: ProtocolError, _ opcode: Opcode, _ what: String) {
        protocolFuzzCheck(error.code == .malformedBody, "message", "\(what) of \(opcode) refused as \(error.code), not malformed body: \(error)")
        protocolFuzzCheck(error.requestID == requestID && error.opcode == opcode, "message", "\(what) of \(opcode) refused for request \(error.requestID) opcode \(error.opcode)")
        protocolFuzzCheck(error.message.hasPrefix("\(opcode.name) body: "), "message", "\(what) of \(opcode) refused with a message that does not name the opcode: \(error.message)")
    }

    static func request(_ opcode: Opcode, _ body: [UInt8]) -> Bool {
        let decoded: Request?
        do throws(ProtocolError) {
            decoded = try Request.decode(frame(opcode, body))
        } catch {
            checkRefusal(error, opcode, "a request")
            checkFastPath(opcode, body, decoded: nil)
            return false
        }
        guard let decoded else {
            protocolFuzzCheck(!Opcode.requests.contains(opcode), "message", "Request.decode gave nil for \(opcode), which version 1 defines")
            return false
        }
        protocolFuzzCheck(Opcode.requests.contains(opcode) && decoded.opcode == opcode, "message", "a body of \(opcode) decoded as \(decoded.opcode)")
        var encoded = ByteBuffer()
        decoded.encodeBody(into: &encoded)
        let again = Array(encoded.readableBytesView)
        protocolFuzzCheck(again == body, "message", "a request of \(opcode) decodes to one that encodes differently: \(protocolFirstDifference(body, again))")
        _ = decoded.namespace
        checkFastPath(opcode, body, decoded: decoded)
        return true
    }

    /// The server's in-place parse of short-term gets and puts against the ordinary decoder.
    static func checkFastPath(_ opcode: Opcode, _ body: [UInt8], decoded: Request?) {
        guard opcode == .shortTermGet || opcode == .shortTermPut else { return }
        body.withUnsafeBytes { bytes in
            let view = ShortTermRequestView.parse(bytes, isPut: opcode == .shortTermPut)
            let namespaceIsASCII = body.first.map { 1 + Int($0) <= body.count && body[1..<(1 + Int($0))].allSatisfy { $0 < 0x80 } } ?? false
            guard let view else {
                protocolFuzzCheck(decoded == nil || !namespaceIsASCII, "message", "ShortTermRequestView refused a \(opcode) body with an ASCII namespace that Request.decode accepts")
                return
            }
            guard let decoded else { fatalError("message: ShortTermRequestView accepted a \(opcode) body that Request.decode refuses") }
            let namespace = Array(body[view.namespace])
            let key = Array(body[view.key])
            switch decoded {
            case .shortTermGet(let expectedNamespace, let expectedKey):
                protocolFuzzCheck(Array(expectedNamespace.utf8) == namespace && expectedKey == key && view.value.isEmpty, "message", "ShortTermRequestView read a get's fields differently")
            case .shortTermPut(let expectedNamespace, let expectedKey, let ttl, let value):
                protocolFuzzCheck(Array(expectedNamespace.utf8) == namespace && expectedKey == key && ttl == view.ttl && value == Array(body[view.value]), "message", "ShortTermRequestView read a put's fields differently")
            default:
                fatalError("message: a \(opcode) body decoded as \(decoded.opcode)")
            }
        }
    }

    static func response(_ opcode: Opcode, status: Status, more: Bool, _ body: [UInt8]) -> Bool {
        let decoded: Response
        do throws(ProtocolError) {
            decoded = try Response.decode(frame(opcode, status: status, flags: more ? .more : [], body))
        } catch {
            checkRefusal(error, opcode, "a response")
            return false
        }
        protocolFuzzCheck(decoded.status == status, "message", "a response of \(opcode) with status \(status) decoded with status \(decoded.status)")
        var encoded = ByteBuffer()
        decoded.encodeBody(into: &encoded)
        let again = Array(encoded.readableBytesView)
        if case .failure(_, let message) = decoded {
            // The message is kept whole; the encoder cuts it to `ErrorBody.messageBytesMax`.
            let length = body.count < 2 ? 0 : Int(body[0]) | Int(body[1]) << 8
            protocolFuzzCheck(Array(message.utf8) == Array(body.dropFirst(2).prefix(length)), "message", "an error body of \(body.count) bytes decoded as a message of \(message.utf8.count) bytes")
            if body.isEmpty || length > ErrorBody.messageBytesMax { return true }
            protocolFuzzCheck(body.starts(with: again), "message", "an error body decodes to one that encodes differently: \(protocolFirstDifference(body, again))")
        } else {
            var given = body
            if opcode == .hello && status == .ok && given.count > 1 { given[1] &= 1 }
            protocolFuzzCheck(given.starts(with: again), "message", "a response of \(opcode) decodes to one that encodes differently: \(protocolFirstDifference(given, again))")
        }
        let flags = opcode == .episodicFollow ? decoded.flags : (more ? .more : [])
        do throws(ProtocolError) {
            // Compared as bytes: a vector component may be a NaN, which is not equal to itself.
            let redecoded = try Response.decode(frame(opcode, status: decoded.status, flags: flags, again))
            var reencoded = ByteBuffer()
            redecoded.encodeBody(into: &reencoded)
            protocolFuzzCheck(Array(reencoded.readableBytesView) == again, "message", "a response of \(opcode) decodes differently once encoded again")
        } catch {
            fatalError("message: a response of \(opcode) does not decode once encoded again: \(error)")
        }
        return true
    }
}
