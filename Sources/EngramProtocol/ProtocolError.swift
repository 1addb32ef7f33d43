/// A frame that breaks the protocol, found by the decoder or a body codec.
///
/// A struct over a code, in the manner of postgres-nio's errors: codes can be added without
/// breaking a `switch`. It carries the offending header bytes and, when the header could be read,
/// the request id and opcode, so the server can answer the request that was wrong.
public struct ProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: Sendable, Hashable {
            case badMagic, unsupportedVersion, reservedBits, statusInRequest, zeroRequestID
            case frameTooLarge, malformedBody, truncatedStream
        }

        fileprivate let base: Base

        /// The first two bytes are not "EG": not an Engram frame at all.
        public static let badMagic = Code(base: .badMagic)
        /// The header's version is not the one in use.
        public static let unsupportedVersion = Code(base: .unsupportedVersion)
        /// Reserved flag bits, or durability bits where none are allowed, are set.
        public static let reservedBits = Code(base: .reservedBits)
        /// A request carries a non-zero status.
        public static let statusInRequest = Code(base: .statusInRequest)
        /// A request uses the id reserved for server frames.
        public static let zeroRequestID = Code(base: .zeroRequestID)
        /// The body length is over the configured limit.
        public static let frameTooLarge = Code(base: .frameTooLarge)
        /// The body does not match its opcode's layout.
        public static let malformedBody = Code(base: .malformedBody)
        /// The peer closed the connection in the middle of a frame.
        public static let truncatedStream = Code(base: .truncatedStream)

        public var description: String {
            switch base {
            case .badMagic: "bad magic"
            case .unsupportedVersion: "unsupported version"
            case .reservedBits: "reserved bits set"
            case .statusInRequest: "status in request"
            case .zeroRequestID: "zero request id"
            case .frameTooLarge: "frame too large"
            case .malformedBody: "malformed body"
            case .truncatedStream: "truncated stream"
            }
        }

        /// The wire status that answers this error.
        public var status: Status {
            switch base {
            case .unsupportedVersion: .unsupportedVersion
            case .frameTooLarge: .frameTooLarge
            default: .malformedFrame
            }
        }
    }

    public let code: Code
    /// A sentence naming what was wrong, sent to the peer in the error body.
    public let message: String
    /// The request id to answer, when the header could be trusted that far; otherwise 0.
    public let requestID: UInt64
    /// The opcode to answer with, when known; otherwise `.none`.
    public let opcode: Opcode
    /// Up to the first 20 bytes of the offending frame, for logs.
    public let bytes: [UInt8]

    public init(_ code: Code, _ message: String, requestID: UInt64 = 0, opcode: Opcode = .none, bytes: [UInt8] = []) {
        self.code = code
        self.message = message
        self.requestID = requestID
        self.opcode = opcode
        self.bytes = bytes
    }

    public var description: String {
        var text = "\(code): \(message)"
        if !bytes.isEmpty { text += " [bytes \(bytes.map { byteHex($0) }.joined(separator: " "))]" }
        return text
    }
}

func byteHex(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16)
    return digits.count == 1 ? "0" + digits : digits
}
