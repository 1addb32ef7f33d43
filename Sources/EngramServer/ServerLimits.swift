import EngramProtocol
import EngramStorage

/// Every bound the server adds to the engine's `Limits`, each with its reason.
///
/// `validate(against:)` checks the relations with the engine's limits (the largest put must fit a
/// request frame, a scan page must fit a response frame) and runs when the server starts.
public struct ServerLimits: Sendable, Equatable {
    /// Open connections. 1,000 agents plus headroom; each costs a socket, buffers and a decoder.
    public var connectionCountMax: Int = 4_096
    /// A request frame, header included: the largest value (1 MiB) with its key, namespace and
    /// framing, with room to spare. Bounds what one connection can make the server buffer.
    public var requestFrameBytesMax: Int = 2 << 20
    /// Unanswered requests per connection before the server stops reading it: 16 pipelined
    /// requests per agent is the common shape; 128 keeps a bulk loader busy without letting one
    /// connection fill the writer queue.
    public var inFlightRequestCountMax: Int = 128
    /// Response bytes waiting for a slow client before the server stops reading its requests.
    public var slowReaderBytesMax: Int = 1 << 20
    /// How long responses may stay over `slowReaderBytesMax` before the connection is closed: a
    /// client that does not read its answers holds server memory.
    public var slowReaderTimeoutMilliseconds: Int = 30_000
    /// A connection with no traffic and nothing in flight is closed after this long; agents that
    /// idle longer reconnect, which is cheap.
    public var idleTimeoutMilliseconds: Int = 300_000
    /// A connection must say hello within this long: unauthenticated sockets are closed quickly.
    public var helloTimeoutMilliseconds: Int = 10_000
    /// How long shutdown waits for in-flight requests before closing connections anyway.
    public var shutdownGraceMilliseconds: Int = 10_000
    /// After its last answer a closing connection waits this long for the client to close first,
    /// so that unread client bytes do not make the kernel reset the connection and destroy answers.
    public var closeLingerMilliseconds: Int = 2_000
    /// Facts read per store call while a semantic scan fills its page: bounds the memory one scan
    /// holds beyond the page (facts may be a megabyte each).
    public var semanticScanChunkCount: Int = 16
    /// Namespaces whose name and grant a connection remembers; agents use one or a few.
    public var namespaceCacheCountMax: Int = 64

    /// Episodic follows one connection holds at once: an agent follows a stream or two; each costs
    /// a page read per commit while it keeps up.
    public var followCountMax: Int = 16
    /// Bytes of a follow's push frames handed to the socket and not yet taken by it. Past this
    /// the follow is paused and resumes from its position when the socket drains, so a slow
    /// follower costs the server at most this plus one frame however far behind it falls.
    public var followBufferedBytesMax: Int = 256 << 10
    /// A push frame's size: large enough to carry hundreds of events per write, small enough
    /// that one frame is a small part of a client's memory.
    public var followFrameBytesMax: Int = 1 << 20
    /// Agents a follow may name; a longer list means "follow them all and filter".
    public var followAgentCountMax: Int = 64
    /// Kinds a follow may name, for the same reason.
    public var followKindCountMax: Int = 64
    /// Pages a follow reads in one turn of the event loop before it lets other connections run:
    /// a follower far behind catches up without holding the loop.
    public var followPagesPerTurnMax: Int = 4

    // Lifecycle (docs/PROTOCOL.md, "Lifecycle").
    /// Consolidate and erase requests waiting or running at once, over every connection: each
    /// holds a waiting slot on the one lifecycle thread, and the store runs one at a time anyway.
    public var lifecycleRequestCountMax: Int = 8

    public static let `default` = ServerLimits()

    public init() {}

    /// The largest response: a full long-term scan page (keys and values up to `scanBytesMax`,
    /// at most 14 bytes of framing per entry), or a semantic page bounded the same way, or the
    /// largest get, whichever is larger.
    public func responseFrameBytesMax(_ storage: Limits) -> Int {
        let framing = FrameHeader.byteCount + 4 + 2 + storage.keyBytesMax + 1 + 16
        let page = storage.scanBytesMax + storage.scanCountMax * 32
        let largestFact = largestFactBytes(storage)
        // A multi-get returns values up to scanBytesMax (and always the first one found), with
        // five bytes of framing per key.
        let multiGet = max(storage.scanBytesMax, storage.hotTierSlabPageBytes) + storage.hotTierMultiGetKeyCountMax * 5
        // An episodic page stops after scanBytesMax bytes, checked per block and always with one
        // episode; an episode on the wire is no longer than its record.
        let episodePage = storage.scanBytesMax + storage.episodicBlockBytes + largestEpisodeRecordBytes(storage) + 64
        return framing + max(page, largestFact + 32, storage.valueBytesMax + 16, multiGet, episodePage)
    }

    /// The largest episode record (docs/EPISODIC.md, "Record"): its 37-byte header, namespace,
    /// agent, both ids and body. Its wire form is shorter.
    func largestEpisodeRecordBytes(_ storage: Limits) -> Int {
        37 + storage.namespaceBytesMax + storage.episodeAgentBytesMax + 32 + storage.episodeBodyBytesMax
    }

    /// A fact with every tag and dimension and the largest body, as it travels.
    func largestFactBytes(_ storage: Limits) -> Int {
        1 + storage.semanticTagCountMax * (1 + storage.semanticTagBytesMax) + 2 + storage.semanticVectorDimensionsMax * 4 + 4 + storage.valueBytesMax
    }

    public func validate(against storage: Limits) throws(EngramError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(EngramError) {
            if !condition { throw EngramError(.limitsInvalid, message()) }
        }
        let positive: [(String, Int)] = [
            ("connectionCountMax", connectionCountMax), ("requestFrameBytesMax", requestFrameBytesMax),
            ("inFlightRequestCountMax", inFlightRequestCountMax), ("slowReaderBytesMax", slowReaderBytesMax),
            ("slowReaderTimeoutMilliseconds", slowReaderTimeoutMilliseconds), ("idleTimeoutMilliseconds", idleTimeoutMilliseconds),
            ("helloTimeoutMilliseconds", helloTimeoutMilliseconds), ("shutdownGraceMilliseconds", shutdownGraceMilliseconds),
            ("semanticScanChunkCount", semanticScanChunkCount), ("closeLingerMilliseconds", closeLingerMilliseconds), ("namespaceCacheCountMax", namespaceCacheCountMax),
            ("followCountMax", followCountMax), ("followBufferedBytesMax", followBufferedBytesMax), ("followFrameBytesMax", followFrameBytesMax),
            ("followAgentCountMax", followAgentCountMax), ("followKindCountMax", followKindCountMax), ("followPagesPerTurnMax", followPagesPerTurnMax),
            ("lifecycleRequestCountMax", lifecycleRequestCountMax),
        ]
        for (name, value) in positive {
            try require(value > 0, "\(name) must be positive, got \(value)")
        }
        let largestPut = FrameHeader.byteCount + 1 + storage.namespaceBytesMax + 2 + storage.keyBytesMax + 8 + 4 + storage.valueBytesMax
        try require(requestFrameBytesMax >= largestPut, "requestFrameBytesMax \(requestFrameBytesMax) cannot carry the largest put (\(largestPut) bytes with valueBytesMax \(storage.valueBytesMax))")
        let largestFactPut = FrameHeader.byteCount + 1 + storage.namespaceBytesMax + 16 + largestFactBytes(storage)
        try require(requestFrameBytesMax >= largestFactPut, "requestFrameBytesMax \(requestFrameBytesMax) cannot carry the largest semantic fact (\(largestFactPut) bytes)")
        try require(requestFrameBytesMax <= Int(UInt32.max), "requestFrameBytesMax \(requestFrameBytesMax) must fit the u32 length field")
        try require(responseFrameBytesMax(storage) <= Int(UInt32.max), "the largest response must fit the u32 length field")
        try require(inFlightRequestCountMax <= storage.writerQueueDepthMax, "inFlightRequestCountMax \(inFlightRequestCountMax) exceeds writerQueueDepthMax \(storage.writerQueueDepthMax): one connection could fill the writer queue")
        try require(idleTimeoutMilliseconds <= Int(UInt32.max), "idleTimeoutMilliseconds must fit the u32 hello field")
        try require(closeLingerMilliseconds <= shutdownGraceMilliseconds, "closeLingerMilliseconds \(closeLingerMilliseconds) exceeds shutdownGraceMilliseconds \(shutdownGraceMilliseconds): shutdown would cut the linger short")
        let largestPush = FrameHeader.byteCount + 12 + largestEpisodeRecordBytes(storage)
        try require(followFrameBytesMax >= largestPush, "followFrameBytesMax \(followFrameBytesMax) cannot carry the largest episode (\(largestPush) bytes with episodeBodyBytesMax \(storage.episodeBodyBytesMax))")
        try require(followFrameBytesMax <= responseFrameBytesMax(storage), "followFrameBytesMax \(followFrameBytesMax) exceeds the response frame limit \(responseFrameBytesMax(storage))")
        try require(followCountMax <= inFlightRequestCountMax, "followCountMax \(followCountMax) exceeds inFlightRequestCountMax \(inFlightRequestCountMax)")
        try require(followAgentCountMax <= Int(UInt16.max) && followKindCountMax <= Int(UInt16.max), "followAgentCountMax and followKindCountMax must fit their u16 counts")
        try require(requestFrameBytesMax >= FrameHeader.byteCount + 1 + storage.namespaceBytesMax + 2 + 1 + storage.episodeAgentBytesMax + 3 + 32 + 4 + storage.episodeBodyBytesMax, "requestFrameBytesMax \(requestFrameBytesMax) cannot carry the largest single episode")
        try require(connectionCountMax <= 1_000_000, "connectionCountMax \(connectionCountMax) is past what one process can hold open")
    }

    /// What the hello answer reports.
    func report(_ storage: Limits) -> ServerLimitsReport {
        ServerLimitsReport(
            requestFrameBytesMax: UInt32(requestFrameBytesMax),
            responseFrameBytesMax: UInt32(responseFrameBytesMax(storage)),
            inFlightRequestCountMax: UInt32(inFlightRequestCountMax),
            namespaceBytesMax: UInt16(storage.namespaceBytesMax),
            keyBytesMax: UInt16(storage.keyBytesMax),
            valueBytesMax: UInt32(storage.valueBytesMax),
            scanCountMax: UInt32(storage.scanCountMax),
            tagCountMax: UInt16(storage.semanticTagCountMax),
            tagBytesMax: UInt16(storage.semanticTagBytesMax),
            vectorDimensionsMax: UInt16(storage.semanticVectorDimensionsMax),
            idleTimeoutMilliseconds: UInt32(idleTimeoutMilliseconds))
    }
}
