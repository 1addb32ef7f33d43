/// The status of a response (docs/PROTOCOL.md, "Status codes").
///
/// Codes 1-99 mirror the storage engine's `EngramError.Code` raw values one to one; 100 and up are
/// the protocol's own. A struct over the wire value so a code from a newer server is carried as is.
public struct Status: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let ok = Status(rawValue: 0)
    // Mirrors of EngramError.Code.
    public static let notFound = Status(rawValue: 1)
    public static let versionConflict = Status(rawValue: 2)
    public static let keyTooLarge = Status(rawValue: 3)
    public static let valueTooLarge = Status(rawValue: 4)
    public static let mapFull = Status(rawValue: 5)
    public static let busy = Status(rawValue: 6)
    public static let corrupt = Status(rawValue: 7)
    public static let io = Status(rawValue: 8)
    public static let noSpace = Status(rawValue: 9)
    public static let invalidArgument = Status(rawValue: 10)
    public static let closed = Status(rawValue: 11)
    public static let limitsInvalid = Status(rawValue: 12)
    public static let alreadyExists = Status(rawValue: 13)
    // The protocol's own.
    public static let malformedFrame = Status(rawValue: 100)
    public static let unsupportedVersion = Status(rawValue: 101)
    public static let frameTooLarge = Status(rawValue: 102)
    public static let unknownOpcode = Status(rawValue: 103)
    public static let unauthenticated = Status(rawValue: 104)
    public static let forbidden = Status(rawValue: 105)
    public static let shuttingDown = Status(rawValue: 106)

    /// Every code version 1 defines.
    public static let all: [Status] = [
        .ok, .notFound, .versionConflict, .keyTooLarge, .valueTooLarge, .mapFull, .busy, .corrupt,
        .io, .noSpace, .invalidArgument, .closed, .limitsInvalid, .alreadyExists,
        .malformedFrame, .unsupportedVersion, .frameTooLarge, .unknownOpcode, .unauthenticated,
        .forbidden, .shuttingDown,
    ]

    /// A stable camelCase name, as in the protocol document.
    public var name: String {
        switch rawValue {
        case 0: "ok"
        case 1: "notFound"
        case 2: "versionConflict"
        case 3: "keyTooLarge"
        case 4: "valueTooLarge"
        case 5: "mapFull"
        case 6: "busy"
        case 7: "corrupt"
        case 8: "io"
        case 9: "noSpace"
        case 10: "invalidArgument"
        case 11: "closed"
        case 12: "limitsInvalid"
        case 13: "alreadyExists"
        case 100: "malformedFrame"
        case 101: "unsupportedVersion"
        case 102: "frameTooLarge"
        case 103: "unknownOpcode"
        case 104: "unauthenticated"
        case 105: "forbidden"
        case 106: "shuttingDown"
        default: "status\(rawValue)"
        }
    }

    /// Whether the server closes the connection after a response with this status to a request
    /// (a framing error). `unauthenticated` closes only after a failed hello; the server decides.
    public var closesConnection: Bool {
        self == .malformedFrame || self == .unsupportedVersion || self == .frameTooLarge
    }

    public var description: String { "\(name)(\(rawValue))" }
}
