import EngramProtocol

/// Every failure the client reports: a server status, or something the client saw itself.
///
/// A struct over a code, as the engine's `EngramError`: new codes do not break a `switch`. Codes
/// for server statuses carry the same names as the protocol's status codes (docs/PROTOCOL.md).
public struct EngramClientError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: Sendable, Hashable {
            case server(UInt16)
            case connectFailed, connectionClosed, timeout, notExecuted, protocolViolation, invalidArgument
        }

        fileprivate let base: Base

        /// The server answered with this status.
        public static func server(_ status: Status) -> Code { Code(base: .server(status.rawValue)) }
        public static let notFound = server(.notFound)
        public static let versionConflict = server(.versionConflict)
        public static let keyTooLarge = server(.keyTooLarge)
        public static let valueTooLarge = server(.valueTooLarge)
        public static let mapFull = server(.mapFull)
        public static let busy = server(.busy)
        public static let corrupt = server(.corrupt)
        public static let io = server(.io)
        public static let noSpace = server(.noSpace)
        public static let serverInvalidArgument = server(.invalidArgument)
        public static let closed = server(.closed)
        public static let alreadyExists = server(.alreadyExists)
        public static let malformedFrame = server(.malformedFrame)
        public static let unsupportedVersion = server(.unsupportedVersion)
        public static let frameTooLarge = server(.frameTooLarge)
        public static let unknownOpcode = server(.unknownOpcode)
        public static let unauthenticated = server(.unauthenticated)
        public static let forbidden = server(.forbidden)
        public static let shuttingDown = server(.shuttingDown)

        /// The connection could not be opened (refused, unreachable, timed out).
        public static let connectFailed = Code(base: .connectFailed)
        /// The connection broke with the request in flight: it may or may not have been executed.
        public static let connectionClosed = Code(base: .connectionClosed)
        /// No answer within the request timeout: it may or may not have been executed.
        public static let timeout = Code(base: .timeout)
        /// The server said it is going away and did not read this request: it was not executed
        /// and may be sent again.
        public static let notExecuted = Code(base: .notExecuted)
        /// The server sent something the protocol does not allow.
        public static let protocolViolation = Code(base: .protocolViolation)
        /// The caller passed something the client refuses before sending (an oversized value).
        public static let invalidArgument = Code(base: .invalidArgument)

        /// The server status, for codes that mirror one.
        public var status: Status? {
            if case .server(let raw) = base { return Status(rawValue: raw) }
            return nil
        }

        public var description: String {
            switch base {
            case .server(let raw): Status(rawValue: raw).name
            case .connectFailed: "connectFailed"
            case .connectionClosed: "connectionClosed"
            case .timeout: "timeout"
            case .notExecuted: "notExecuted"
            case .protocolViolation: "protocolViolation"
            case .invalidArgument: "invalidArgument"
            }
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Whether sending the same request again is safe and may succeed: the server did not
    /// execute it (`notExecuted`, `busy`, `shuttingDown`) or it never left (`connectFailed`).
    public var isRetryable: Bool {
        code == .notExecuted || code == .busy || code == .shuttingDown || code == .connectFailed
    }

    public var description: String {
        message.isEmpty ? "\(code)" : "\(code): \(message)"
    }
}
