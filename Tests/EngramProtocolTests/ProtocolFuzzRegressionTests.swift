import EngramProtocol
import NIOCore
import Testing

/// Every input the protocol's fuzz targets found that broke a promise, replayed through the same
/// entry point (which traps if the bug comes back), with the decoder's exact answer. Named after
/// what was wrong; the bytes are the fuzzer's own, in hex (opcode byte, control byte, body).
@Suite struct ProtocolFuzzRegressionTests {
    static func hex(_ text: String) -> [UInt8] {
        stride(from: 0, to: text.count, by: 2).map { offset in
            let start = text.index(text.startIndex, offsetBy: offset)
            return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    /// The fuzzer's input with its opcode byte made again from the opcode: the byte is taken
    /// modulo the number of opcodes, which grows as opcodes are added.
    static func input(_ opcode: Opcode, _ rest: String) -> [UInt8] {
        [UInt8(ProtocolFuzzEntryPoints.messageOpcodes.firstIndex(of: opcode)!)] + hex(rest)
    }

    static func responseError(_ opcode: Opcode, status: Status = .ok, _ body: [UInt8]) -> ProtocolError? {
        do throws(ProtocolError) {
            _ = try Response.decode(Frame(header: FrameHeader(opcode: opcode, status: status, requestID: 8), body: ByteBuffer(bytes: body)))
            return nil
        } catch {
            return error
        }
    }

    static func requestError(_ opcode: Opcode, _ body: [UInt8]) -> ProtocolError? {
        do throws(ProtocolError) {
            _ = try Request.decode(Frame(header: FrameHeader(opcode: opcode, requestID: 8), body: ByteBuffer(bytes: body)))
            return nil
        } catch {
            return error
        }
    }

    /// An unfollow's `existed` byte of 0xff was read as true and encoded back as 1. The same
    /// loose reading of "has resume", "has next" and "at end" would have let a client take a
    /// page with a resume point for the last page: every such byte is now 0 or 1, or malformed.
    @Test func anExistedByteOtherThanZeroOrOneIsMalformed() {
        let input = Self.input(.episodicUnfollow, "03ff") // found as 7f 03 ff
        #expect(input.withUnsafeBytes(ProtocolFuzzEntryPoints.message) == false)
        let error = Self.responseError(.episodicUnfollow, [0xff])
        #expect(error?.code == .malformedBody)
        #expect(error?.message == "episodic_unfollow body: existed is 255, not 0 or 1")
        #expect(Self.responseError(.semanticScan, [0, 0, 0, 0, 2])?.message == "semantic_scan body: has resume is 2, not 0 or 1")
        #expect(Self.responseError(.episodicScan, [0, 0, 0, 0] + Array(repeating: 0, count: 8) + [3])?.message == "episodic_scan body: at end is 3, not 0 or 1")
    }

    /// An error body whose message bytes (`b4 00 00`) are not UTF-8 was decoded with a
    /// replacement character, so the message handed on was not the one sent. Every string field,
    /// in requests and responses, is now checked.
    @Test func aStringThatIsNotUTF8IsMalformed() {
        let input = Self.input(.ping, "fb0300b40000") // found as bf fb 03 00 b4 00 00
        #expect(input.withUnsafeBytes(ProtocolFuzzEntryPoints.message) == false)
        let error = Self.responseError(.ping, status: Status(rawValue: 130), [0x03, 0x00, 0xb4, 0x00, 0x00])
        #expect(error?.code == .malformedBody)
        #expect(error?.message == "ping body: message of 3 bytes at offset 2 is not UTF-8")
        #expect(Self.requestError(.longTermGet, [1, 0xff, 1, 0, 0x6b])?.message == "long_term_get body: namespace of 1 bytes at offset 1 is not UTF-8")
    }

    /// The server's in-place parse of short-term gets and puts took any namespace bytes, while
    /// the decoder now refuses a namespace that is not UTF-8: the fast path leaves every
    /// namespace that is not ASCII to the decoder, so both paths give one answer.
    @Test func theShortTermFastPathLeavesANamespaceThatIsNotASCIIToTheDecoder() {
        let invalid: [UInt8] = [1, 0xff, 1, 0, 0x6b]
        #expect(invalid.withUnsafeBytes { ShortTermRequestView.parse($0, isPut: false) } == nil)
        #expect(Self.requestError(.shortTermGet, invalid)?.code == .malformedBody)
        let accented: [UInt8] = [2, 0xc3, 0xa9, 1, 0, 0x6b]
        #expect(accented.withUnsafeBytes { ShortTermRequestView.parse($0, isPut: false) } == nil)
        #expect(Self.requestError(.shortTermGet, accented) == nil)
        let ascii: [UInt8] = [3] + Array("crm".utf8) + [1, 0, 0x6b]
        #expect(ascii.withUnsafeBytes { ShortTermRequestView.parse($0, isPut: false) }?.key == 6..<7)
    }

    /// A semantic get's answer with a NaN vector component (bits `ff8a0000`): accepted, as the
    /// client takes what the server stores, and it encodes back to the same bytes. The target
    /// compared decoded values, and a NaN is not equal to itself; it now compares bytes.
    @Test func aNaNVectorComponentInAnAnswerRoundTripsAsBytes() {
        let input = Self.input(.semanticGet, "03054b00ff36ff000000020000008aff36007f0200000000000000002c002000") // found as 3a 03 ...
        #expect(input.withUnsafeBytes(ProtocolFuzzEntryPoints.message) == true)
    }

    /// The message target handed the snapshot opcodes, which have decoders of their own, to
    /// `Request.decode`, and took its nil for a defined opcode left undecoded (found as
    /// `29 00 01 02 03`, a snapshot read of 3 bytes, once the export's opcodes joined the list).
    /// The target now decodes them with their own types: a short read is malformed, and a close's
    /// `existed` byte is 0 or 1 as every other flag.
    @Test func snapshotBodiesGoToTheirOwnDecoders() {
        let input = Self.input(.snapshotRead, "00010203")
        #expect(input.withUnsafeBytes(ProtocolFuzzEntryPoints.message) == false)
        var reader = BodyReader(ByteBuffer(bytes: [1, 2, 3]), opcode: .snapshotRead, requestID: 8)
        let error: ProtocolError? = {
            do throws(ProtocolError) {
                _ = try SnapshotReadRequest.decode(&reader)
                return nil
            } catch {
                return error
            }
        }()
        #expect(error?.code == .malformedBody)
        #expect(error?.message == "snapshot_read body: snapshot id needs 8 bytes at offset 0, 3 remain")
        #expect(Self.input(.snapshotClose, "0102").withUnsafeBytes(ProtocolFuzzEntryPoints.message) == false)
        #expect(Self.input(.snapshotClose, "0101").withUnsafeBytes(ProtocolFuzzEntryPoints.message) == true)
    }
}
