/// What a request asks for. A struct over the wire value rather than an enum, so an opcode this
/// build does not know can still be carried, logged and answered with `unknownOpcode`.
///
/// Ranges per tier are in docs/PROTOCOL.md, "Opcodes"; new tiers add opcodes in their range.
public struct Opcode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Server frames that answer no request (the connection-limit `busy`).
    public static let none = Opcode(rawValue: 0x0000)
    public static let hello = Opcode(rawValue: 0x0001)
    public static let ping = Opcode(rawValue: 0x0002)
    public static let stats = Opcode(rawValue: 0x0003)
    /// Server to client only: the server is shutting down.
    public static let goingAway = Opcode(rawValue: 0x0004)

    public static let longTermGet = Opcode(rawValue: 0x0301)
    public static let longTermPut = Opcode(rawValue: 0x0302)
    public static let longTermDelete = Opcode(rawValue: 0x0303)
    public static let longTermCompareAndSet = Opcode(rawValue: 0x0304)
    public static let longTermScan = Opcode(rawValue: 0x0305)

    public static let semanticPut = Opcode(rawValue: 0x0401)
    public static let semanticGet = Opcode(rawValue: 0x0402)
    public static let semanticDelete = Opcode(rawValue: 0x0403)
    public static let semanticScan = Opcode(rawValue: 0x0404)

    /// Every request opcode version 1 defines, in wire order.
    public static let requests: [Opcode] = [
        .hello, .ping, .stats,
        .longTermGet, .longTermPut, .longTermDelete, .longTermCompareAndSet, .longTermScan,
        .semanticPut, .semanticGet, .semanticDelete, .semanticScan,
    ] + Opcode.snapshotRequests

    /// Whether the request changes stored state (and so may carry durability flags).
    public var writes: Bool {
        switch self {
        case .longTermPut, .longTermDelete, .longTermCompareAndSet, .semanticPut, .semanticDelete: true
        default: false
        }
    }

    /// A stable snake_case name for logs and metric labels.
    public var name: String {
        switch self {
        case .none: "none"
        case .hello: "hello"
        case .ping: "ping"
        case .stats: "stats"
        case .goingAway: "going_away"
        case .longTermGet: "long_term_get"
        case .longTermPut: "long_term_put"
        case .longTermDelete: "long_term_delete"
        case .longTermCompareAndSet: "long_term_compare_and_set"
        case .longTermScan: "long_term_scan"
        case .semanticPut: "semantic_put"
        case .semanticGet: "semantic_get"
        case .semanticDelete: "semantic_delete"
        case .semanticScan: "semantic_scan"
        default: snapshotName ?? "unknown"
        }
    }

    public var description: String {
        let hex = String(rawValue, radix: 16)
        return "\(name)(0x\(String(repeating: "0", count: 4 - hex.count))\(hex))"
    }
}
