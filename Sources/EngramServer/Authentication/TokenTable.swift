import EngramProtocol
import EngramStorage

/// The tokens a server accepts and what each may do.
///
/// Built once at start-up from a tokens file or flags and then read-only, so any event loop may
/// use it. An empty table means open mode: every connection is admin on every namespace.
public struct TokenTable: Sendable {
    public struct Entry: Sendable, Equatable {
        public var token: [UInt8]
        public var grants: [Grant]
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    public var isOpen: Bool { entries.isEmpty }

    /// Adds a grant to `token`, creating the entry on first use.
    public mutating func add(token: String, role: Role, namespace: String?) throws(EngramError) {
        let bytes = Array(token.utf8)
        guard !bytes.isEmpty, bytes.count <= HelloRequest.tokenBytesMax else {
            throw EngramError(.invalidArgument, "a token must be 1 to \(HelloRequest.tokenBytesMax) bytes, got \(bytes.count)")
        }
        if let namespace { _ = try Namespace(namespace) }
        let grant = Grant(role: role, namespace: namespace)
        if let index = entries.firstIndex(where: { $0.token == bytes }) {
            entries[index].grants.append(grant)
        } else {
            entries.append(Entry(token: bytes, grants: [grant]))
        }
    }

    /// Parses one grant written `TOKEN:ROLE:NAMESPACE` (NAMESPACE `*` for every namespace), the
    /// form of the `--token` flag.
    public mutating func add(specification: String) throws(EngramError) {
        let parts = specification.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else {
            throw EngramError(.invalidArgument, "a token grant is TOKEN:ROLE:NAMESPACE, got \(parts.count) parts")
        }
        try addGrant(token: parts[0], roleName: parts[1], namespace: parts[2])
    }

    /// Parses a tokens file: one grant per line, `TOKEN ROLE NAMESPACE`, separated by spaces;
    /// `#` starts a comment. The error names the line.
    public mutating func add(fileContents: String) throws(EngramError) {
        for (index, rawLine) in fileContents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if fields.isEmpty { continue }
            guard fields.count == 3 else {
                throw EngramError(.invalidArgument, "tokens file line \(index + 1): expected TOKEN ROLE NAMESPACE, got \(fields.count) fields")
            }
            do {
                try addGrant(token: fields[0], roleName: fields[1], namespace: fields[2])
            } catch {
                throw EngramError(error.code, "tokens file line \(index + 1): \(error.message)")
            }
        }
    }

    private mutating func addGrant(token: String, roleName: String, namespace: String) throws(EngramError) {
        guard let role = Role(name: roleName) else {
            throw EngramError(.invalidArgument, "role \"\(roleName)\" is not read, write or admin")
        }
        try add(token: token, role: role, namespace: namespace == "*" ? nil : namespace)
    }

    /// The grants of `token`, or nil when the server does not know it.
    ///
    /// Constant time in the token's bytes: every entry is compared in full, with no early exit on
    /// the first differing byte or on a match, so the time taken tells nothing about how close a
    /// guess came.
    public func grants(for token: [UInt8]) -> [Grant]? {
        var match: Int = -1
        for (index, entry) in entries.enumerated() {
            let equal = Self.constantTimeEquals(entry.token, token)
            match = equal ? index : match
        }
        return match >= 0 ? entries[match].grants : nil
    }

    static func constantTimeEquals(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: left.count ^ right.count)
        difference |= UInt8(truncatingIfNeeded: (left.count ^ right.count) >> 8)
        let length = max(left.count, right.count)
        for index in 0..<length {
            let a = index < left.count ? left[index] : 0
            let b = index < right.count ? right[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }
}

extension Array where Element == Grant {
    /// The strongest role these grants give in `namespace`.
    func role(in namespace: String) -> Role? {
        var best: Role? = nil
        for grant in self where grant.namespace == nil || grant.namespace == namespace {
            if best == nil || grant.role > best! { best = grant.role }
        }
        return best
    }

    /// The strongest role in any namespace (stats needs admin somewhere).
    var strongestRole: Role? { map(\.role).max() }
}
