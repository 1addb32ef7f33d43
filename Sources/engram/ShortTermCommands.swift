import ArgumentParser
import EngramClient
import EngramProtocol

/// The TTL options of short-term puts and touches.
struct TTLOptions: ParsableArguments {
    @Option(help: "Seconds the item lives (default: the server's, 300 s).") var ttl: UInt32?
    @Flag(help: "The item never expires (it stays until evicted or deleted).") var noExpiry = false

    func resolved() throws -> WireTTL {
        if noExpiry {
            guard ttl == nil else { throw ValidationError("give --ttl or --no-expiry, not both") }
            return .never
        }
        guard let ttl else { return .serverDefault }
        guard ttl > 0, ttl != WireTTL.serverDefault.rawValue else { throw ValidationError("--ttl must be 1 to \(WireTTL.serverDefault.rawValue - 1); use --no-expiry for none") }
        return .seconds(ttl)
    }
}

struct ShortTermGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "st-get", abstract: "Print a short-term value (exit 1 when there is none or it expired).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The key.") var key: String

    func run() async throws {
        var found: [UInt8]?
        try await options.run { (client) throws(EngramClientError) in
            found = try await client.shortTermGet(namespace: options.resolvedNamespace, key: Array(key.utf8))
        }
        guard let found else { try notFound(options, key) }
        print(options.json ? JSON.object([("key", .string(key)), JSON.bytesField("value", found)]).description : display(found))
    }
}

struct ShortTermMultiGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "st-mget", abstract: "Print several short-term values, one line each, (nil) where there is none.")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The keys.") var keys: [String]

    func run() async throws {
        guard !keys.isEmpty else { throw ValidationError("give at least one key") }
        var values: [[UInt8]?] = []
        try await options.run { (client) throws(EngramClientError) in
            values = try await client.shortTermMultiGet(namespace: options.resolvedNamespace, keys: keys.map { Array($0.utf8) })
        }
        if options.json {
            print(JSON.array(zip(keys, values).map { key, value in
                JSON.object([("key", .string(key))] + (value.map { [JSON.bytesField("value", $0)] } ?? [("value", .null)]))
            }))
        } else {
            for (index, value) in values.enumerated() { print("\(index + 1)) \(value.map(display) ?? "(nil)")") }
        }
    }
}

struct ShortTermPut: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "st-put", abstract: "Store a short-term value with a TTL.")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The key.") var key: String
    @Argument(help: "The value; '-' reads standard input.") var value: String
    @OptionGroup var ttlOptions: TTLOptions

    func run() async throws {
        let bytes = try ValueInput.parse([value]).bytes()
        let ttl = try ttlOptions.resolved()
        try await options.run { (client) throws(EngramClientError) in
            try await client.shortTermPut(namespace: options.resolvedNamespace, key: Array(key.utf8), value: bytes, ttl: ttl)
            print(options.json ? JSON.object([("key", .string(key)), ("ttl", .string(ttl.description))]).description : "OK")
        }
    }
}

struct ShortTermDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "st-del", abstract: "Delete a short-term item (exit 1 when there was none).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The key.") var key: String

    func run() async throws {
        var existed = false
        try await options.run { (client) throws(EngramClientError) in
            existed = try await client.shortTermDelete(namespace: options.resolvedNamespace, key: Array(key.utf8))
        }
        guard existed else { try notFound(options, key) }
        printDeleted("key", key, options)
    }
}

struct ShortTermTouch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "st-touch", abstract: "Give a short-term item a new TTL from now (exit 1 when there is none).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The key.") var key: String
    @OptionGroup var ttlOptions: TTLOptions

    func run() async throws {
        let ttl = try ttlOptions.resolved()
        var existed = false
        try await options.run { (client) throws(EngramClientError) in
            existed = try await client.shortTermTouch(namespace: options.resolvedNamespace, key: Array(key.utf8), ttl: ttl)
        }
        guard existed else { try notFound(options, key) }
        print(options.json ? JSON.object([("key", .string(key)), ("ttl", .string(ttl.description))]).description : "OK (touched)")
    }
}

struct ShortTermStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "st-stats", abstract: "The hot tier's figures (needs an admin grant).")
    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        try await options.run { (client) throws(EngramClientError) in
            let statistics = try await client.shortTermStats()
            if options.json {
                print(JSON.object(statistics.map { ($0.name, .integer($0.value)) }))
            } else {
                for statistic in statistics { print("\(statistic.name): \(statistic.value)") }
            }
        }
    }
}
