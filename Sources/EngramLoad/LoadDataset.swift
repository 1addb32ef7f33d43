#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import Foundation
import EngramProtocol

/// SplitMix64: a small, fast generator whose whole state is one word, so each transaction gets
/// its own from the seed and its index and a run is the same whatever order tasks run in.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A generator for item `index` of stream `stream` under `seed`.
    public static func derived(seed: UInt64, stream: UInt64, index: UInt64) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD6E8_FEB8_6659_FD93))
        for _ in 0..<2 { _ = mixer.next() }
        return SplitMix64(seed: mixer.next() ^ index &* 0x9E37_79B9_7F4A_7C15)
    }

    public mutating func uuid() -> WireUUID {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for word in [next(), next()] {
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        return WireUUID(bytes: bytes)
    }
}

/// Monotonic time in nanoseconds (CLOCK_MONOTONIC): the schedule and every latency use it.
public enum MonotonicClock {
    public static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Wall-clock microseconds since 1970, for record timestamps.
    public static func wallMicroseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1_000
    }
}

/// The data every journey works on, derived from the seed: lead sources (with a long-term
/// profile each), campaigns, and the leads already there when the run starts. Identical for the
/// same seed and profile, so two runs against fresh servers do the same work.
public struct LoadDataset: Sendable {
    public let namespace: String
    public let seed: UInt64
    public let sources: [String]
    public let campaignIDs: [WireUUID]
    public let preloadLeadIDs: [WireUUID]
    public static let statuses = ["new", "contacted", "qualified", "nurturing"]

    public init(namespace: String, seed: UInt64, profile: LoadProfile) {
        self.namespace = namespace
        self.seed = seed
        sources = (0..<profile.sourceCount).map { "source-\($0)" }
        var campaigns = SplitMix64.derived(seed: seed, stream: 1, index: 0)
        campaignIDs = (0..<profile.campaignCount).map { _ in campaigns.uuid() }
        var leads = SplitMix64.derived(seed: seed, stream: 2, index: 0)
        preloadLeadIDs = (0..<profile.preloadLeadCount).map { _ in leads.uuid() }
    }

    /// A lead's email is its id in hexadecimal, so ids and emails never collide across runs.
    public static func email(for id: WireUUID) -> String {
        id.bytes.map { byteHex($0) }.joined() + "@load.example"
    }

    /// The episodic stream of one lead's history: agents read a lead's recent episodes from it.
    public static func leadStream(for id: WireUUID) -> String {
        "lead:" + id.bytes.map { byteHex($0) }.joined()
    }

    public static func sourceProfileKey(_ source: String) -> [UInt8] {
        Array("profile:\(source)".utf8)
    }

    /// A source's profile: a small JSON document with the baseline score triage starts from.
    public func sourceProfile(_ index: Int) -> [UInt8] {
        let baseline = 30 + (index * 7) % 40
        return Array("{\"source\":\"\(sources[index])\",\"baseline\":\(baseline),\"weight\":1.\(index % 10),\"owner\":\"growth-team\",\"notes\":\"inbound, scored by triage\"}".utf8)
    }

    static func baseline(fromProfile value: [UInt8]) -> Int {
        // The profile is ours ("baseline":NN,...); a missing or odd value falls back to 40.
        let text = String(decoding: value, as: UTF8.self)
        guard let range = text.range(of: "\"baseline\":") else { return 40 }
        return Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 40
    }

    /// A preloaded lead: created uniformly over the day before `nowMicroseconds`.
    func preloadLead(_ index: Int, nowMicroseconds: Int64) -> WireLead {
        var random = SplitMix64.derived(seed: seed, stream: 3, index: UInt64(index))
        let id = preloadLeadIDs[index]
        let ageMicroseconds = Int64(random.next() % 86_400_000_000)
        return WireLead(
            id: id, email: Self.email(for: id), name: "Lead \(index)", company: "Company \(random.next() % 5_000)",
            source: sources[Int(random.next() % UInt64(sources.count))], category: "inbound",
            score: UInt8(random.next() % 101), status: Self.statuses[Int(random.next() % UInt64(Self.statuses.count))],
            metadata: Array("{\"utm\":\"load\",\"preload\":true}".utf8), createdAtMicroseconds: nowMicroseconds - ageMicroseconds)
    }
}

func byteHex(_ byte: UInt8) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}
