import EngramProtocol
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@Suite struct FrameDecoderTests {
    func header(magic: UInt16 = FrameHeader.magic, version: UInt8 = 1, flags: UInt8 = 0, opcode: UInt16 = 0x0302, status: UInt16 = 0, requestID: UInt64 = 1, bodyLength: UInt32 = 0) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(magic, endianness: .little)
        buffer.writeInteger(version)
        buffer.writeInteger(flags)
        buffer.writeInteger(opcode, endianness: .little)
        buffer.writeInteger(status, endianness: .little)
        buffer.writeInteger(requestID, endianness: .little)
        buffer.writeInteger(bodyLength, endianness: .little)
        return buffer
    }

    func decodeError(_ buffer: ByteBuffer, side: FrameDecoder.Side = .server, frameBytesMax: Int = 1024) -> ProtocolError? {
        var decoder = FrameDecoder(side: side, frameBytesMax: frameBytesMax)
        var buffer = buffer
        do {
            _ = try decoder.decodeFrame(&buffer)
            return nil
        } catch {
            return error
        }
    }

    @Test func aPartialFrameNeverMovesTheReaderIndex() throws {
        var whole = ByteBuffer()
        FrameEncoder.write(.ping(payload: Array("0123456789".utf8)), requestID: 3, into: &whole)
        var decoder = FrameDecoder(side: .server, frameBytesMax: 1024)
        var partial = ByteBuffer()
        for (index, byte) in whole.readableBytesView.enumerated() {
            if index > 0 {
                #expect(try decoder.decodeFrame(&partial) == nil)
                #expect(partial.readerIndex == 0, "after \(index) bytes")
            }
            partial.writeInteger(byte)
        }
        let frame = try #require(try decoder.decodeFrame(&partial))
        #expect(frame.header.requestID == 3)
        #expect(frame.body == ByteBuffer(string: "0123456789"))
        #expect(partial.readableBytes == 0)
    }

    @Test func anOversizedLengthIsRejectedFromTheHeaderAlone() throws {
        let failure = try #require(decodeError(header(requestID: 8, bodyLength: 1005)))
        #expect(failure.code == .frameTooLarge)
        #expect(failure.code.status == .frameTooLarge)
        #expect(failure.requestID == 8)
        #expect(failure.opcode == .longTermPut)
        #expect(failure.message == "body of 1005 bytes exceeds the limit of 1004 (frame limit 1024 bytes)")
        #expect(decodeError(header(bodyLength: 1004)) == nil)
    }

    @Test func badMagicIsMalformedAndTrustsNoField() throws {
        let failure = try #require(decodeError(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n")))
        #expect(failure.code == .badMagic)
        #expect(failure.code.status == .malformedFrame)
        #expect(failure.requestID == 0)
        #expect(failure.message == "the frame starts with 47 45, not the magic 45 47 (\"EG\")")
    }

    @Test func eachHeaderViolationHasItsOwnCode() throws {
        #expect(decodeError(header(version: 2))?.code == .unsupportedVersion)
        #expect(decodeError(header(version: 2))?.message == "frame version 2; this side speaks 1 to 1")
        #expect(decodeError(header(version: 0))?.code == .unsupportedVersion)
        #expect(decodeError(header(flags: 0x04))?.code == .reservedBits)
        #expect(decodeError(header(flags: 0x80))?.message == "request flags 0x80 set reserved bits")
        #expect(decodeError(header(flags: 0x03))?.message == "request flags set durability 3, which is not a mode")
        #expect(decodeError(header(status: 1))?.code == .statusInRequest)
        #expect(decodeError(header(requestID: 0))?.code == .zeroRequestID)
        // The client side accepts statuses, id 0 and the `more` bit, but not reserved bits.
        #expect(decodeError(header(flags: 0x04, status: 6, requestID: 0), side: .client) == nil)
        #expect(decodeError(header(flags: 0x08), side: .client)?.code == .reservedBits)
    }

    @Test func theVersionIsCheckedBeforeTheLength() throws {
        #expect(decodeError(header(version: 9, bodyLength: .max))?.code == .unsupportedVersion)
    }

    @Test func closingMidFrameIsATruncatedStream() throws {
        var decoder = FrameDecoder(side: .server, frameBytesMax: 1024)
        var buffer = header(requestID: 4, bodyLength: 10)
        buffer.writeBytes([1, 2, 3])
        #expect(try decoder.decodeFrame(&buffer) == nil)
        do {
            _ = try decoder.decodeLast(buffer: &buffer, seenEOF: true)
            Issue.record("decodeLast accepted a truncated frame")
        } catch let error as ProtocolError {
            #expect(error.code == .truncatedStream)
            #expect(error.requestID == 4)
            #expect(error.message == "the connection closed after 23 bytes of a frame of 30 bytes")
        }
        var short = ByteBuffer(bytes: [0x45, 0x47, 1])
        #expect(throws: ProtocolError.self) { _ = try decoder.decodeLast(buffer: &short, seenEOF: true) }
    }

    @Test func backToBackFramesDecodeInOrder() throws {
        var buffer = ByteBuffer()
        for id in 1...5 { FrameEncoder.write(.stats, requestID: UInt64(id), into: &buffer) }
        var decoder = FrameDecoder(side: .server, frameBytesMax: 1024)
        var ids: [UInt64] = []
        while let frame = try decoder.decodeFrame(&buffer) { ids.append(frame.header.requestID) }
        #expect(ids == [1, 2, 3, 4, 5])
    }

    @Test func verifierAcceptsTheDecoder() throws {
        func frameBytes(_ request: Request, _ id: UInt64) -> (ByteBuffer, [Frame]) {
            var buffer = ByteBuffer()
            FrameEncoder.write(request, requestID: id, into: &buffer)
            var copy = buffer
            var decoder = FrameDecoder(side: .server, frameBytesMax: 4096)
            let frame = try! decoder.decodeFrame(&copy)!
            return (buffer, [frame])
        }
        let cases = [
            frameBytes(.ping(payload: []), 1),
            frameBytes(.longTermPut(namespace: "crm", key: Array("k".utf8), value: Array(repeating: 7, count: 300)), 2),
            frameBytes(.stats, 3),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: cases) {
            FrameDecoder(side: .server, frameBytesMax: 4096)
        }
    }

    @Test func theHandlerReportsAnOversizedFrameBeforeTheBodyArrives() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(side: .server, frameBytesMax: 64)))
        #expect(throws: ProtocolError.self) { try channel.writeInbound(header(bodyLength: 1 << 30)) }
        _ = try? channel.finish()
    }
}
