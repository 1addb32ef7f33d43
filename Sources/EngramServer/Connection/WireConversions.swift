import EngramProtocol
import EngramStorage
import FoundationEssentials

typealias EngramProtocolOpcode = EngramProtocol.Opcode

extension Status {
    /// The wire status of an engine error: codes 1-99 mirror `EngramError.Code` one to one.
    init(_ error: EngramError) {
        self.init(rawValue: error.code.rawValue)
    }
}

extension EngramError {
    /// The message sent to the client: the sentence, plus the errno, file and offset when there.
    var wireMessage: String {
        var text = message
        if let errno { text += " (errno \(errno))" }
        if let file {
            text += " [file \(file)"
            if let offset { text += ", offset \(offset)" }
            text += "]"
        }
        return text
    }
}

extension UUID {
    init(_ id: FactID) {
        var tuple: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &tuple) { $0.copyBytes(from: id.bytes) }
        self.init(uuid: tuple)
    }
}

extension FactID {
    init(_ uuid: UUID) {
        self.init(bytes: withUnsafeBytes(of: uuid.uuid) { Array($0) })
    }
}

extension WireFact {
    func semanticFact(id: FactID) -> SemanticFact {
        SemanticFact(id: UUID(id), tags: tags, body: body, vector: vector)
    }

    init(_ fact: SemanticFact) {
        self.init(tags: fact.tags, vector: fact.vector, body: fact.body)
    }

    /// Bytes this fact takes on the wire inside a scan page, with its id and version.
    var pageEntryByteCount: Int {
        16 + 8 + 1 + tags.reduce(0) { $0 + 1 + $1.utf8.count } + 2 + (vector?.count ?? 0) * 4 + 4 + body.count
    }
}

extension WireDurability {
    var storage: Durability {
        switch self {
        case .durable: .durable
        case .applied: .applied
        }
    }
}
