import ArgumentParser
import EngramClient
import EngramProtocol

func factID(_ text: String) throws -> FactID {
    guard let id = FactID(text) else { throw ValidationError("\(text) is not a fact id (a UUID, 8-4-4-4-12 hex digits)") }
    return id
}

func factJSON(_ fact: WireStoredFact) -> JSON {
    JSON.object([
        ("id", .string(fact.id.description)), ("version", .integer(fact.version)),
        ("tags", .array(fact.fact.tags.map { .string($0) })),
        ("vector", fact.fact.vector.map { .array($0.map { .float($0) }) } ?? .null),
        JSON.bytesField("body", fact.fact.body),
    ])
}

func printFact(_ fact: WireStoredFact) {
    print("\(fact.id) (version \(fact.version))")
    if !fact.fact.tags.isEmpty { print("  tags: \(fact.fact.tags.joined(separator: ", "))") }
    if let vector = fact.fact.vector { print("  vector: \(vector.count) dimensions") }
    print("  \(display(fact.fact.body))")
}

struct SemanticPut: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sem-put", abstract: "Store a semantic fact; prints its id and version.")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The fact's body; '-' reads standard input.") var body: String
    @Option(help: "The fact id (a UUID); a random one when absent.") var id: String?
    @Option(help: "A tag; repeatable.") var tag: [String] = []
    @Option(help: "The embedding, comma-separated numbers.") var vector: String?
    @Flag(help: "Acknowledge once applied, before the sync.") var applied = false

    func run() async throws {
        let id = try id.map(factID) ?? FactID.random()
        let bytes = try ValueInput.parse([body]).bytes()
        var components: [Float]? = nil
        if let vector {
            components = try vector.split(separator: ",").map { part in
                guard let value = Float(part.trimmingCharacters(in: " ")) else { throw ValidationError("\(part) in --vector is not a number") }
                return value
            }
        }
        let fact = WireFact(tags: tag, vector: components, body: bytes)
        try await options.run { (client) throws(EngramClientError) in
            let version = try await client.semanticPut(namespace: options.resolvedNamespace, id: id, fact: fact, durability: applied ? .applied : nil)
            if options.json {
                print(JSON.object([("id", .string(id.description)), ("version", .integer(version))]))
            } else {
                print("OK \(id) (version \(version))")
            }
        }
    }
}

extension Substring {
    func trimmingCharacters(in character: Character) -> Substring {
        var result = self
        while result.first == character { result.removeFirst() }
        while result.last == character { result.removeLast() }
        return result
    }
}

struct SemanticGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sem-get", abstract: "Print a semantic fact (exit 1 when it does not exist).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The fact id.") var id: String

    func run() async throws {
        let id = try factID(id)
        var found: WireStoredFact?
        try await options.run { (client) throws(EngramClientError) in
            found = try await client.semanticGet(namespace: options.resolvedNamespace, id: id)
        }
        guard let found else { try notFound(options, id.description) }
        if options.json { print(factJSON(found)) } else { printFact(found) }
    }
}

struct SemanticDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sem-delete", abstract: "Delete a semantic fact (exit 1 when it did not exist).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The fact id.") var id: String

    func run() async throws {
        let id = try factID(id)
        var existed = false
        try await options.run { (client) throws(EngramClientError) in
            existed = try await client.semanticDelete(namespace: options.resolvedNamespace, id: id)
        }
        guard existed else { try notFound(options, id.description) }
        printDeleted("id", id.description, options)
    }
}

struct SemanticScan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sem-scan", abstract: "List semantic facts in id order, up to --limit.")
    @OptionGroup var options: ConnectionOptions
    @Option(help: "Most facts to print.") var limit: Int = 100

    func run() async throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        var facts: [WireStoredFact] = []
        try await options.run { (client) throws(EngramClientError) in
            var cursor: FactID? = nil
            while facts.count < limit {
                let page = try await client.semanticScan(namespace: options.resolvedNamespace, after: cursor, limit: limit - facts.count)
                facts += page.facts
                guard let next = page.resumeAfter else { break }
                cursor = next
            }
        }
        if options.json {
            print(JSON.array(facts.map(factJSON)))
        } else if facts.isEmpty {
            print("(empty)")
        } else {
            facts.forEach(printFact)
        }
    }
}
