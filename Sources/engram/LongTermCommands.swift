import ArgumentParser
import EngramClient
import EngramProtocol
#if canImport(Glibc)
import Glibc
#endif

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a long-term value (exit 1 when the key does not exist).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The key.") var key: String
    @Flag(help: "Print the raw value bytes only, nothing else.") var raw = false

    func run() async throws {
        var found: VersionedValue?
        try await options.run { (client) throws(EngramClientError) in
            found = try await client.get(namespace: options.resolvedNamespace, key: Array(key.utf8))
        }
        guard let found else { try notFound(options, key) }
        if options.json {
            print(JSON.object([("key", .string(key)), ("version", .integer(found.version)), JSON.bytesField("value", found.value)]))
        } else if raw {
            fflush(nil)
            found.value.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) }
        } else {
            print("\(display(found.value))\n(version \(found.version))")
        }
    }
}

/// The value of a write: the argument, or a file, or standard input with `-`.
struct ValueInput: ParsableArguments {
    @Argument(help: "The value; '-' reads standard input.") var value: String?
    @Option(help: "Read the value from this file.") var valueFile: String?
    @Flag(help: "Acknowledge once applied, before the sync (see docs/PROTOCOL.md, Durability).") var applied = false

    var durability: WireDurability? { applied ? .applied : nil }

    func bytes() throws -> [UInt8] {
        if let valueFile {
            let descriptor = open(valueFile, O_RDONLY)
            guard descriptor >= 0 else { throw ValidationError("cannot open \(valueFile)") }
            defer { close(descriptor) }
            return readAll(descriptor)
        }
        guard let value else { throw ValidationError("give a value, '-' for standard input, or --value-file") }
        if value == "-" { return readAll(0) }
        return Array(value.utf8)
    }

    private func readAll(_ descriptor: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }
}

func printVersion(_ options: ConnectionOptions, _ key: String, _ version: UInt64) {
    if options.json {
        print(JSON.object([("key", .string(key)), ("version", .integer(version))]))
    } else {
        print("OK (version \(version))")
    }
}

struct Put: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Store a long-term value; prints its new version.")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The key.") var key: String
    @OptionGroup var input: ValueInput

    func run() async throws {
        let value = try input.bytes()
        try await options.run { (client) throws(EngramClientError) in
            let version = try await client.put(namespace: options.resolvedNamespace, key: Array(key.utf8), value: value, durability: input.durability)
            printVersion(options, key, version)
        }
    }
}

struct CompareAndSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cas", abstract: "Store a value only if the key is at --expect (0: only if absent); exit 2 with versionConflict otherwise.")
    @OptionGroup var options: ConnectionOptions
    @Option(help: "The version the key must have now; 0 means it must not exist.") var expect: UInt64
    @Argument(help: "The key.") var key: String
    @OptionGroup var input: ValueInput

    func run() async throws {
        let value = try input.bytes()
        try await options.run { (client) throws(EngramClientError) in
            let version = try await client.compareAndSet(namespace: options.resolvedNamespace, key: Array(key.utf8), expectedVersion: expect, value: value, durability: input.durability)
            printVersion(options, key, version)
        }
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a long-term key (exit 1 when it did not exist).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The key.") var key: String
    @Option(help: "Delete only if the key is at this version.") var expect: UInt64 = 0
    @Flag(help: "Acknowledge once applied, before the sync.") var applied = false

    func run() async throws {
        var existed = false
        try await options.run { (client) throws(EngramClientError) in
            existed = try await client.delete(namespace: options.resolvedNamespace, key: Array(key.utf8), expectedVersion: expect, durability: applied ? .applied : nil)
        }
        guard existed else { try notFound(options, key) }
        printDeleted("key", key, options)
    }
}

struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List long-term entries by key prefix, in key order, following pages up to --limit.")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "Key prefix; empty for the whole namespace.") var prefix: String = ""
    @Option(help: "Most entries to print.") var limit: Int = 100
    @Option(help: "Start strictly after this key.") var after: String?

    func run() async throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        var entries: [WireEntry] = []
        try await options.run { (client) throws(EngramClientError) in
            var cursor = after.map { Array($0.utf8) }
            while entries.count < limit {
                let page = try await client.scan(namespace: options.resolvedNamespace, prefix: Array(prefix.utf8), after: cursor, limit: limit - entries.count)
                entries += page.entries
                guard let next = page.resumeAfter else { break }
                cursor = next
            }
        }
        if options.json {
            print(JSON.array(entries.map { JSON.object([JSON.bytesField("key", $0.key), ("version", .integer($0.version)), JSON.bytesField("value", $0.value)]) }))
        } else if entries.isEmpty {
            print("(empty)")
        } else {
            for (index, entry) in entries.enumerated() {
                print("\(index + 1)) \(display(entry.key)) = \(display(entry.value)) (version \(entry.version))")
            }
        }
    }
}
