import FoundationEssentials

/// An episode to append: what happened, to which agent's history it belongs, and its typed header.
public struct NewEpisode: Sendable, Equatable {
    /// The agent whose history this is: 1 to `Limits.episodeAgentBytesMax` bytes of ASCII letters,
    /// digits, `.`, `_`, `-` and `:`.
    public var agent: String
    /// The event kind, in the caller's own vocabulary (lead scored, email sent, opened, ...).
    public var kind: UInt16
    public var lead: UUID?
    public var campaign: UUID?
    /// Opaque bytes, at most `Limits.episodeBodyBytesMax`.
    public var body: [UInt8]

    public init(agent: String, kind: UInt16, lead: UUID? = nil, campaign: UUID? = nil, body: [UInt8]) {
        self.agent = agent
        self.kind = kind
        self.lead = lead
        self.campaign = campaign
        self.body = body
    }
}

/// The numbers the store gave one appended episode.
public struct EpisodeReceipt: Sendable, Equatable {
    /// 1, 2, 3, ... per (namespace, agent).
    public let sequence: UInt64
    /// Microseconds since 1970; never decreases within one agent.
    public let timestampMicroseconds: Int64
    /// The episode's place in the store-wide order of every episode.
    public let position: UInt64

    public init(sequence: UInt64, timestampMicroseconds: Int64, position: UInt64) {
        self.sequence = sequence
        self.timestampMicroseconds = timestampMicroseconds
        self.position = position
    }
}

/// A stored episode, as reads return it. A value: it owns its bytes.
public struct Episode: Sendable, Equatable {
    public let agent: String
    public let sequence: UInt64
    public let timestampMicroseconds: Int64
    public let position: UInt64
    public let kind: UInt16
    public let lead: UUID?
    public let campaign: UUID?
    public let body: [UInt8]

    public init(agent: String, sequence: UInt64, timestampMicroseconds: Int64, position: UInt64, kind: UInt16, lead: UUID?, campaign: UUID?, body: [UInt8]) {
        self.agent = agent
        self.sequence = sequence
        self.timestampMicroseconds = timestampMicroseconds
        self.position = position
        self.kind = kind
        self.lead = lead
        self.campaign = campaign
        self.body = body
    }

    init(_ view: EpisodeRecordView) {
        self.init(
            agent: String(decoding: view.agent, as: UTF8.self), sequence: view.sequence,
            timestampMicroseconds: view.timestampMicroseconds, position: view.position, kind: view.kind,
            lead: view.leadID, campaign: view.campaignID, body: Array(view.body))
    }
}

/// Which of an agent's episodes a range read wants: those whose sequence and timestamp both fall
/// in their ranges (inclusive). Sequences and timestamps both grow with an agent's history, so
/// either narrows the same walk; a read pages on by narrowing `sequences`.
public struct EpisodeRange: Sendable, Equatable {
    public var sequences: ClosedRange<UInt64>
    /// Microseconds since 1970.
    public var time: ClosedRange<Int64>

    public static let allSequences: ClosedRange<UInt64> = 1...UInt64.max
    public static let allTime: ClosedRange<Int64> = Int64.min...Int64.max

    public init(sequences: ClosedRange<UInt64> = EpisodeRange.allSequences, time: ClosedRange<Int64> = EpisodeRange.allTime) {
        self.sequences = sequences
        self.time = time
    }

    public static func sequences(_ range: ClosedRange<UInt64>) -> EpisodeRange { EpisodeRange(sequences: range) }
    public static func time(_ range: ClosedRange<Int64>) -> EpisodeRange { EpisodeRange(time: range) }

    /// Every episode of the agent.
    public static let all = EpisodeRange()

    /// Whether the walk goes by the time index: only when time alone narrows the range.
    var usesTimeIndex: Bool { sequences == Self.allSequences && time != Self.allTime }

    func contains(sequence: UInt64, timestampMicroseconds: Int64) -> Bool {
        sequences.contains(sequence) && time.contains(timestampMicroseconds)
    }
}

public enum EpisodeOrder: Sendable, Equatable {
    case oldestFirst
    case newestFirst
}

/// One page of a range read. When `next` is set more episodes may follow: pass it as the range of
/// the next read, with the same order. When nil, the range is exhausted.
public struct EpisodePage: Sendable, Equatable {
    public let episodes: [Episode]
    public let next: EpisodeRange?
}

/// One page of a position-order scan of a namespace. `nextPosition` is where the next page starts;
/// `isAtEnd` says the scan reached the newest episode committed when the page was read.
public struct EpisodeScanPage: Sendable, Equatable {
    public let episodes: [Episode]
    public let nextPosition: UInt64
    public let isAtEnd: Bool
}

/// Checks shared by the command and the reads.
enum EpisodicValidation {
    /// The agent's name as bytes, or the error that names what is wrong with it.
    static func agentBytes(_ agent: String, limits: Limits) throws(EngramError) -> [UInt8] {
        let bytes = Array(agent.utf8)
        guard !bytes.isEmpty else { throw EngramError(.invalidArgument, "an agent id must not be empty") }
        guard bytes.count <= limits.episodeAgentBytesMax else {
            throw EngramError(.keyTooLarge, "agent id of \(bytes.count) bytes exceeds episodeAgentBytesMax \(limits.episodeAgentBytesMax)")
        }
        for (index, byte) in bytes.enumerated() where !Namespace.isAllowed(byte) {
            throw EngramError(.invalidArgument, "agent id has byte 0x\(String(byte, radix: 16)) at index \(index); allowed are letters, digits, '.', '_', '-' and ':'")
        }
        return bytes
    }
}
