import EngramProtocol

/// How a client reaches and talks to one `engramd`. Every field has a working default.
public struct EngramClientConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Empty for a server in open mode.
    public var token: String
    /// Shown in the server's logs.
    public var clientName: String
    /// Durability of writes that do not say; the server's default is durable.
    public var defaultDurability: WireDurability
    /// Connections in the pool; requests are spread over them round-robin and pipelined on each.
    public var connectionCount: Int
    /// How long a request may wait for its answer.
    public var requestTimeoutMilliseconds: Int
    public var connectTimeoutMilliseconds: Int
    /// The largest response accepted, a guard against a broken server; the server's own limit is
    /// in its hello answer and is smaller.
    public var responseFrameBytesMax: Int

    public init(host: String = "127.0.0.1", port: Int = 7379, token: String = "", clientName: String = "engram-client", defaultDurability: WireDurability = .durable, connectionCount: Int = 4, requestTimeoutMilliseconds: Int = 10_000, connectTimeoutMilliseconds: Int = 5_000, responseFrameBytesMax: Int = 64 << 20) {
        self.host = host
        self.port = port
        self.token = token
        self.clientName = clientName
        self.defaultDurability = defaultDurability
        self.connectionCount = connectionCount
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.responseFrameBytesMax = responseFrameBytesMax
    }
}
