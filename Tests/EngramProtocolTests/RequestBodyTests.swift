import EngramProtocol
import NIOCore
import Testing

/// Bodies that do not match their opcode's layout: each names what was wrong.
@Suite struct RequestBodyTests {
    func frame(_ opcode: Opcode, _ body: [UInt8]) -> Frame {
        Frame(header: FrameHeader(opcode: opcode, requestID: 9), body: ByteBuffer(bytes: body))
    }

    func error(_ opcode: Opcode, _ body: [UInt8]) -> ProtocolError? {
        do {
            _ = try Request.decode(frame(opcode, body))
            return nil
        } catch {
            return error
        }
    }

    @Test func aKeyLengthPastTheEndIsMalformed() throws {
        let failure = try #require(error(.longTermGet, [3] + Array("crm".utf8) + [10, 0, 0x61]))
        #expect(failure.code == .malformedBody)
        #expect(failure.code.status == .malformedFrame)
        #expect(failure.requestID == 9)
        #expect(failure.message == "long_term_get body: key of 10 bytes at offset 6 runs past the end (1 remain)")
    }

    @Test func bytesAfterTheLastFieldAreMalformed() throws {
        let failure = try #require(error(.longTermGet, [3] + Array("crm".utf8) + [1, 0, 0x61, 0xEE]))
        #expect(failure.message == "long_term_get body: 1 bytes after the last field at offset 7")
    }

    @Test func anEmptyBodyWhereFieldsAreExpectedIsMalformed() throws {
        let failure = try #require(error(.longTermPut, []))
        #expect(failure.message == "long_term_put body: namespace length needs 1 bytes at offset 0, 0 remain")
    }

    @Test func statsTakesNoBody() throws {
        #expect(try #require(error(.stats, [0])).message == "stats body: 1 bytes after the last field at offset 0")
    }

    @Test func aVectorLongerThanTheBodyIsRejectedBeforeReadingIt() throws {
        let body: [UInt8] = [2, 0x6B, 0x62] + Array(repeating: 1, count: 16) + [0, 0xFF, 0xFF]
        #expect(try #require(error(.semanticPut, body)).message == "semantic_put body: a vector of 65535 dimensions needs 262140 bytes, 0 remain")
    }

    @Test func helloRejectsAnOverlongTokenAndReservedOptions() throws {
        let longToken: [UInt8] = [1, 1, 0, 0x01, 0x01] + Array(repeating: 0x41, count: 257) + [0]
        #expect(try #require(error(.hello, longToken)).message == "hello body: token of 257 bytes exceeds 256")
        #expect(try #require(error(.hello, [1, 1, 2, 0, 0, 0])).message == "hello body: options 0x02 set reserved bits")
        #expect(try #require(error(.hello, [2, 1, 0, 0, 0, 0])).message == "hello body: version min 2 is above version max 1")
    }

    @Test func semanticScanHasAfterMustBeZeroOrOne() throws {
        #expect(try #require(error(.semanticScan, [2, 0x6B, 0x62, 2])).message == "semantic_scan body: has after is 2, not 0 or 1")
    }

    @Test func unknownOpcodesDecodeToNil() throws {
        #expect(try Request.decode(frame(Opcode(rawValue: 0x0199), [1, 2, 3])) == nil)
        #expect(try Request.decode(frame(Opcode(rawValue: 0x7FFF), [])) == nil)
    }

    @Test func everyRequestOpcodeHasAName() {
        for opcode in Opcode.requests { #expect(opcode.name != "unknown") }
        #expect(Opcode(rawValue: 0x0999).description == "unknown(0x0999)")
        #expect(Opcode.longTermPut.description == "long_term_put(0x0302)")
    }
}
